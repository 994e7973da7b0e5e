#include "storage/postgres/revocation_payload.h"

#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "storage/postgres/pg_values.h"
#include "storage/validation.h"

namespace tokend::storage::pg {
namespace {

constexpr const char* kMembers[] = {"kind", "key", "not_before", "expires_at", "revoked_at"};

}  // namespace

std::string EncodeRevocationPayload(const Revocation& revocation) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  const std::string_view kind = RevocationKindName(revocation.kind);
  writer.StartObject();
  writer.Key("kind");
  writer.String(kind.data(), static_cast<rapidjson::SizeType>(kind.size()));
  writer.Key("key");
  writer.String(revocation.key.data(), static_cast<rapidjson::SizeType>(revocation.key.size()));
  writer.Key("not_before");
  writer.Int64(ToDbMicros(revocation.not_before));
  writer.Key("expires_at");
  writer.Int64(ToDbMicros(revocation.expires_at));
  writer.Key("revoked_at");
  writer.Int64(ToDbMicros(revocation.revoked_at));
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::optional<Revocation> DecodeRevocationPayload(std::string_view payload) {
  if (payload.size() > kMaxRevocationPayloadBytes) return std::nullopt;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(payload.data(), payload.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  // Exactly five members, each present once: duplicates would leave one of them missing.
  if (doc.MemberCount() != std::size(kMembers)) return std::nullopt;
  for (const char* name : kMembers) {
    if (!doc.HasMember(name)) return std::nullopt;
  }
  const auto& kind = doc["kind"];
  const auto& key = doc["key"];
  if (!kind.IsString() || !key.IsString()) return std::nullopt;
  for (const char* name : {"not_before", "expires_at", "revoked_at"}) {
    if (!doc[name].IsInt64()) return std::nullopt;
  }
  const auto parsed_kind =
      ParseRevocationKind(std::string_view(kind.GetString(), kind.GetStringLength()));
  if (!parsed_kind.has_value()) return std::nullopt;
  Revocation revocation;
  revocation.kind = *parsed_kind;
  revocation.key.assign(key.GetString(), key.GetStringLength());
  revocation.not_before = FromDbMicros(doc["not_before"].GetInt64());
  revocation.expires_at = FromDbMicros(doc["expires_at"].GetInt64());
  revocation.revoked_at = FromDbMicros(doc["revoked_at"].GetInt64());
  // Rejects NUL, and the CESU-8 bytes RapidJSON makes of an escaped lone surrogate.
  if (!ValidateRevocation(revocation).ok()) return std::nullopt;
  return revocation;
}

}  // namespace tokend::storage::pg
