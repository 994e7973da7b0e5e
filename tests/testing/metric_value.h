#pragma once

#include <map>
#include <optional>
#include <string>

#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace tokend::testing {

// The value of one series in `registry`, read through Collect() as a scraper would: a counter's
// or gauge's value, or a histogram's sample count. nullopt when the family or the exact label
// set is absent. For assertions on metrics in tests.
inline std::optional<double> MetricValue(const prometheus::Registry& registry,
                                         const std::string& family_name,
                                         const std::map<std::string, std::string>& labels = {}) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != family_name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      std::map<std::string, std::string> got;
      for (const prometheus::ClientMetric::Label& label : metric.label) {
        got[label.name] = label.value;
      }
      if (got != labels) continue;
      switch (family.type) {
        case prometheus::MetricType::Counter:
          return metric.counter.value;
        case prometheus::MetricType::Gauge:
          return metric.gauge.value;
        case prometheus::MetricType::Histogram:
          return static_cast<double>(metric.histogram.sample_count);
        default:
          return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

}  // namespace tokend::testing
