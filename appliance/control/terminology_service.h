// TerminologyService (api/control/v1/terminology.proto): a thin adapter over
// terminology::TerminologyStore (versions, rows, CSV, diff) and the current
// fhir::Terminology snapshot (lookups as the mapper resolves them).
#ifndef APPLIANCE_CONTROL_TERMINOLOGY_SERVICE_H_
#define APPLIANCE_CONTROL_TERMINOLOGY_SERVICE_H_

#include "api/control/v1/terminology.grpc.pb.h"
#include "appliance/control/call_guard.h"
#include "appliance/terminology/store.h"

namespace appliance::control {

class TerminologyServiceImpl final
    : public ::hl7appliance::control::v1::TerminologyService::Service {
 public:
  // `guard` must outlive the service; so must `terminology`, which may be
  // null (every call then answers UNAVAILABLE).
  TerminologyServiceImpl(const CallGuard* guard,
                         terminology::TerminologyStore* terminology)
      : guard_(guard), terminology_(terminology) {}

  grpc::Status ListVersions(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::ListVersionsRequest* req,
      ::hl7appliance::control::v1::ListVersionsResponse* resp) override;
  grpc::Status ListMaps(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::ListMapsRequest* req,
      ::hl7appliance::control::v1::ListMapsResponse* resp) override;
  grpc::Status GetRows(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::GetRowsRequest* req,
      ::hl7appliance::control::v1::GetRowsResponse* resp) override;
  grpc::Status Lookup(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::LookupRequest* req,
      ::hl7appliance::control::v1::LookupResponse* resp) override;
  grpc::Status DiffVersions(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::DiffVersionsRequest* req,
      ::hl7appliance::control::v1::DiffVersionsResponse* resp) override;
  grpc::Status ExportCsv(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::ExportCsvRequest* req,
      ::hl7appliance::control::v1::ExportCsvResponse* resp) override;
  grpc::Status UpsertRows(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::UpsertRowsRequest* req,
      ::hl7appliance::control::v1::TerminologyChangeResponse* resp) override;
  grpc::Status DeleteRows(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::DeleteRowsRequest* req,
      ::hl7appliance::control::v1::TerminologyChangeResponse* resp) override;
  grpc::Status ImportCsv(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::ImportCsvRequest* req,
      ::hl7appliance::control::v1::TerminologyChangeResponse* resp) override;

 private:
  // Runs `body` through the guard, UNAVAILABLE without a terminology store.
  grpc::Status Run(grpc::ServerContext* ctx, const char* method,
                   const CallGuard::Body& body) const;

  const CallGuard* const guard_;                      // Not owned.
  terminology::TerminologyStore* const terminology_;  // Not owned; may be null.
};

}  // namespace appliance::control

#endif  // APPLIANCE_CONTROL_TERMINOLOGY_SERVICE_H_
