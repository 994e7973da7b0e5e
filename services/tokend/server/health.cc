#include "services/tokend/server/health.h"

#include <utility>

namespace tokend::server {
namespace {

// Once a second, the first time a second after Start() (which evaluates at once itself).
util::BackgroundLoop::Options LoopOptions() {
  util::BackgroundLoop::Options options;
  options.name = "health";
  options.first_wait = absl::Seconds(1);
  return options;
}

}  // namespace

HealthPublisher::HealthPublisher(http::Readiness& readiness,
                                 ::grpc::HealthCheckServiceInterface* health,
                                 std::function<void()> on_tick)
    : readiness_(readiness),
      health_(health),
      on_tick_(std::move(on_tick)),
      loop_(LoopOptions(), absl::Seconds(1), [this] { EvaluateAndPublish(); }) {}

HealthPublisher::~HealthPublisher() { loop_.Stop(); }

void HealthPublisher::Start() {
  if (health_ != nullptr) health_->SetServingStatus("liveness", true);
  EvaluateAndPublish();
  loop_.Start();
}

void HealthPublisher::EvaluateAndPublish() {
  const bool ready = readiness_.Evaluate().ready;
  if (health_ != nullptr) {
    // By name: the all-services overload would also flip "liveness".
    health_->SetServingStatus("", ready);
    health_->SetServingStatus("tokend.v1.TokenService", ready);
  }
  if (on_tick_) on_tick_();
}

void HealthPublisher::Shutdown() {
  loop_.Stop();
  if (health_ != nullptr) health_->Shutdown();  // NOT_SERVING for every service, for good
  readiness_.Evaluate();
}

}  // namespace tokend::server
