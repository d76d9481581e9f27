// Small helpers shared by the pipeline stages' write jobs.
#ifndef APPLIANCE_PIPELINE_STORE_UTIL_H_
#define APPLIANCE_PIPELINE_STORE_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/store/keys.h"
#include "appliance/store/lmdb_env.h"
#include "google/protobuf/message.h"

namespace appliance::pipeline {

// Audit details stay short.
inline constexpr size_t kMaxAuditDetail = 200;

inline std::string Serialize(const google::protobuf::Message& m) {
  std::string out;
  m.SerializeToString(&out);
  return out;
}

inline std::string TruncateDetail(std::string s) {
  if (s.size() > kMaxAuditDetail) s.resize(kMaxAuditDetail);
  return s;
}

// Reads the record with big-endian key `seq` of `dbi` into `*out`.
// NOT_FOUND when absent, DATA_LOSS when it does not parse.
template <typename T>
absl::Status GetProto(const store::WriteTxn& txn, store::Dbi dbi, uint64_t seq,
                      T* out) {
  ASSIGN_OR_RETURN(std::string_view v, txn.Get(dbi, store::EncodeU64BE(seq)));
  if (!out->ParseFromArray(v.data(), static_cast<int>(v.size()))) {
    return absl::DataLossError(absl::StrCat(
        "record ", seq, " of ", std::string(dbi.name()), " does not parse"));
  }
  return absl::OkStatus();
}

}  // namespace appliance::pipeline

#endif  // APPLIANCE_PIPELINE_STORE_UTIL_H_
