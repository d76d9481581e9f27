#include "appliance/control/audit_service.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/audit/chain.h"
#include "appliance/audit/export.h"
#include "appliance/base/status_macros.h"
#include "appliance/control/convert.h"
#include "appliance/crypto/hash.h"
#include "appliance/crypto/keys.h"

namespace appliance::control {
namespace {

using AS = api::AuditService;
constexpr char kKind[] = "audit";
// Export chunks are flushed at about this size.
constexpr size_t kChunkBytes = 64 * 1024;

// The filters QueryAuditRequest and ExportAuditRequest share.
struct Filter {
  int64_t from_us = 0;
  int64_t to_us = INT64_MAX;
  std::set<int> types;
  uint64_t message_seq = 0;
  std::string actor;

  bool Matches(const spb::AuditRecord& r) const {
    return r.time_us() >= from_us && r.time_us() < to_us &&
           (types.empty() || types.count(r.type())) &&
           (message_seq == 0 || r.message_seq() == message_seq) &&
           (actor.empty() || r.actor() == actor);
  }
};

template <typename Req>
absl::StatusOr<Filter> MakeFilter(const Req& req) {
  Filter f;
  RETURN_IF_ERROR(CheckTimestamp(req.from(), "from"));
  RETURN_IF_ERROR(CheckTimestamp(req.to(), "to"));
  if (req.has_from()) f.from_us = FromTimestamp(req.from());
  if (req.has_to()) f.to_us = FromTimestamp(req.to());
  if (req.has_from() && req.has_to() && f.to_us <= f.from_us) {
    return absl::InvalidArgumentError("to: must be after from");
  }
  for (int i = 0; i < req.types_size(); ++i) {
    const int t = req.types(i);
    if (t == spb::AUDIT_EVENT_UNSPECIFIED || !spb::AuditEventType_IsValid(t)) {
      return absl::InvalidArgumentError(
          absl::StrCat("types[", i, "]: not an audit event type"));
    }
    f.types.insert(t);
  }
  f.message_seq = req.message_seq();
  f.actor = req.actor();
  return f;
}

}  // namespace

grpc::Status AuditServiceImpl::QueryAudit(grpc::ServerContext* ctx,
                                          const api::QueryAuditRequest* req,
                                          api::QueryAuditResponse* resp) {
  return guard_->Run(
      ctx, FullMethod<AS>("QueryAudit"), req->message_seq(),
      [&](const Principal&) -> absl::Status {
        ASSIGN_OR_RETURN(Filter filter, MakeFilter(*req));
        ASSIGN_OR_RETURN(uint64_t after,
                         DecodePageToken(kKind, req->page_token()));
        ASSIGN_OR_RETURN(
            uint64_t next,
            ScanPage<spb::AuditRecord>(
                after, EffectivePageSize(req->page_size()),
                [&](uint64_t from, size_t n) {
                  return store_->ReadAudit(from, n);
                },
                [&](const spb::AuditRecord& r) -> absl::StatusOr<bool> {
                  if (!filter.Matches(r)) return false;
                  ToAuditEvent(r, resp->add_events());
                  return true;
                }));
        if (next != 0) resp->set_next_page_token(EncodePageToken(kKind, next));
        return absl::OkStatus();
      });
}

grpc::Status AuditServiceImpl::VerifyAudit(grpc::ServerContext* ctx,
                                           const api::VerifyAuditRequest*,
                                           api::VerifyAuditResponse* resp) {
  return guard_->Run(ctx, FullMethod<AS>("VerifyAudit"), 0,
                     [&](const Principal&) -> absl::Status {
                       std::string hmac_key;
                       if (!key_file_.empty()) {
                         ASSIGN_OR_RETURN(crypto::KeyFile key,
                                          crypto::KeyFile::Load(key_file_));
                         hmac_key = std::string(key.audit_hmac_key());
                       }
                       ASSIGN_OR_RETURN(audit::VerifyReport report,
                                        audit::Verify(store_->env(), hmac_key));
                       resp->set_ok(report.ok);
                       resp->set_records(report.records);
                       resp->set_first_seq(report.first_seq);
                       resp->set_last_seq(report.last_seq);
                       resp->set_head_hash(crypto::ToHex(report.head_hash));
                       resp->set_bad_seq(report.bad_seq);
                       resp->set_problem(report.problem);
                       resp->set_checkpoint_checked(report.checkpoint_checked);
                       resp->set_report(audit::FormatReport(report));
                       return absl::OkStatus();
                     });
}

grpc::Status AuditServiceImpl::ExportAudit(
    grpc::ServerContext* ctx, const api::ExportAuditRequest* req,
    grpc::ServerWriter<api::ExportAuditChunk>* writer) {
  return guard_->Run(
      ctx, FullMethod<AS>("ExportAudit"), req->message_seq(),
      [&](const Principal&) -> absl::Status {
        if (!api::AuditExportFormat_IsValid(req->format())) {
          return absl::InvalidArgumentError("format: unknown export format");
        }
        const bool fhir = req->format() == api::AUDIT_EXPORT_FORMAT_FHIR_NDJSON;
        ASSIGN_OR_RETURN(Filter filter, MakeFilter(*req));
        api::ExportAuditChunk chunk;
        std::string data;
        auto flush = [&]() -> absl::Status {
          if (chunk.records() == 0) return absl::OkStatus();
          chunk.set_data(std::move(data));
          data.clear();
          if (!writer->Write(chunk)) {
            return absl::CancelledError("the client went away");
          }
          chunk.Clear();
          return absl::OkStatus();
        };
        uint64_t after = 0;
        while (true) {
          if (ctx->IsCancelled()) return absl::CancelledError("cancelled");
          ASSIGN_OR_RETURN(std::vector<spb::AuditRecord> records,
                           store_->ReadAudit(after, kScanChunk));
          for (const spb::AuditRecord& r : records) {
            after = r.seq();
            if (!filter.Matches(r)) continue;
            // The same lines as `hl7ctl audit export` (audit/export.h).
            data += fhir ? audit::RecordAuditEvent(r) : audit::RecordJson(r);
            data.push_back('\n');
            chunk.set_records(chunk.records() + 1);
            if (data.size() >= kChunkBytes) RETURN_IF_ERROR(flush());
          }
          if (records.size() < kScanChunk) break;
        }
        return flush();
      });
}

}  // namespace appliance::control
