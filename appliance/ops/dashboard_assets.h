// The dashboard page, script and style sheet, embedded in the binary from
// dashboard.html, dashboard.js and dashboard.css (see the genrule in BUILD).
#ifndef APPLIANCE_OPS_DASHBOARD_ASSETS_H_
#define APPLIANCE_OPS_DASHBOARD_ASSETS_H_

namespace appliance::ops {

extern const char kDashboardHtml[];
extern const char kDashboardJs[];
extern const char kDashboardCss[];

}  // namespace appliance::ops

#endif  // APPLIANCE_OPS_DASHBOARD_ASSETS_H_
