// The MLLP server's counters as Prometheus samples (hl7_mllp_*), for a
// collector registered by main.cc:
//   registry.AddCollector([&](ops::MetricsWriter& w) {
//     ops::WriteMllpStats(server->stats(), w);
//   });
#ifndef APPLIANCE_OPS_MLLP_METRICS_H_
#define APPLIANCE_OPS_MLLP_METRICS_H_

#include "appliance/mllp/server.h"
#include "appliance/ops/metrics.h"

namespace appliance::ops {

void WriteMllpStats(const mllp::ServerStats& s, MetricsWriter& w);

}  // namespace appliance::ops

#endif  // APPLIANCE_OPS_MLLP_METRICS_H_
