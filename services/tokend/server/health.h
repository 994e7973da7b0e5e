#pragma once

#include <functional>
#include <memory>

#include "grpcpp/health_check_service_interface.h"
#include "services/tokend/http/readiness.h"
#include "util/background_loop.h"

namespace tokend::server {

// Keeps the gRPC health service in step with readiness: re-evaluates the readiness rules every
// second (so /readyz and the health service share one answer and no probe runs on a request
// thread) and publishes SERVING / NOT_SERVING for "" and tokend.v1.TokenService. The
// "liveness" service says only that the process serves: SERVING until shutdown, whatever
// readiness says, so a liveness probe never restarts replicas during a database outage.
// `on_tick` runs after each evaluation (gauges). Thread-safe.
class HealthPublisher {
 public:
  HealthPublisher(http::Readiness& readiness, ::grpc::HealthCheckServiceInterface* health,
                  std::function<void()> on_tick);
  HealthPublisher(const HealthPublisher&) = delete;
  HealthPublisher& operator=(const HealthPublisher&) = delete;
  ~HealthPublisher();

  // Evaluates once, publishes, and keeps doing so every second.
  void Start();
  // Stops publishing, then NOT_SERVING for every service, for good (draining).
  void Shutdown();

 private:
  void EvaluateAndPublish();

  http::Readiness& readiness_;
  ::grpc::HealthCheckServiceInterface* const health_;  // may be null
  const std::function<void()> on_tick_;
  util::BackgroundLoop loop_;
};

}  // namespace tokend::server
