#include "appliance/store/lmdb_status.h"

#include <lmdb.h>

#include <cerrno>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace appliance::store {
namespace {

// Operator-facing advice for the failures someone can fix.
const char* Hint(int rc) {
  switch (rc) {
    case MDB_MAP_FULL:
      return "; map size limit reached (the writer grows the map up to its "
             "configured cap, then the store is full)";
    case MDB_READERS_FULL:
      return "; too many concurrent read transactions (raise max_readers)";
    case MDB_DBS_FULL:
      return "; too many named sub-databases (raise max_dbs)";
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
      return "; the data file is damaged or not an LMDB file (restore from "
             "backup)";
    case MDB_VERSION_MISMATCH:
      return "; the data file was written by an incompatible LMDB version";
    case EACCES:
    case EPERM:
      return "; check the owner and permissions of the data directory and "
             "its data.mdb/lock.mdb files";
    case EROFS:
      return "; the data directory is on a read-only file system";
    case ENOSPC:
    case EDQUOT:
      return "; the disk holding the data directory is full";
    case ENOENT:
      return "; the data directory does not exist";
    case ENOTDIR:
      return "; the data path is not a directory";
    default:
      return "";
  }
}

}  // namespace

absl::StatusCode LmdbStatusCode(int rc) {
  switch (rc) {
    case MDB_SUCCESS:
      return absl::StatusCode::kOk;
    case MDB_NOTFOUND:
    case ENOENT:
      return absl::StatusCode::kNotFound;
    case MDB_KEYEXIST:
    case EEXIST:
      return absl::StatusCode::kAlreadyExists;
    case MDB_MAP_FULL:
    case MDB_READERS_FULL:
    case MDB_TXN_FULL:
    case MDB_DBS_FULL:
    case MDB_TLS_FULL:
    case ENOSPC:
    case EDQUOT:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
      return absl::StatusCode::kResourceExhausted;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      return absl::StatusCode::kDataLoss;
    case EACCES:
    case EPERM:
      return absl::StatusCode::kPermissionDenied;
    case EROFS:
    case ENOTDIR:
    case EISDIR:
    case MDB_INCOMPATIBLE:
    case MDB_BAD_TXN:
    case MDB_BAD_RSLOT:
    case MDB_BAD_DBI:
      return absl::StatusCode::kFailedPrecondition;
    case MDB_BAD_VALSIZE:
    case EINVAL:
    case ENAMETOOLONG:
      return absl::StatusCode::kInvalidArgument;
    case EIO:
    case EAGAIN:
    case EBUSY:
    case EINTR:
    case MDB_MAP_RESIZED:
      return absl::StatusCode::kUnavailable;
    default:
      // MDB_PANIC, MDB_CURSOR_FULL, MDB_PAGE_FULL and unexpected errno
      // values: a bug or a broken environment, not a caller mistake.
      return absl::StatusCode::kInternal;
  }
}

absl::Status LmdbStatus(int rc, std::string_view operation) {
  if (rc == MDB_SUCCESS) return absl::OkStatus();
  // mdb_strerror() gives "MDB_XXX: text" for LMDB codes and strerror()
  // text for errno values; add the errno number for the latter.
  std::string message =
      absl::StrCat(absl::string_view(operation.data(), operation.size()), ": ",
                   mdb_strerror(rc));
  if (rc > 0) absl::StrAppend(&message, " (errno ", rc, ")");
  absl::StrAppend(&message, Hint(rc));
  absl::Status status(LmdbStatusCode(rc), message);
  status.SetPayload(kLmdbErrorPayloadUrl, absl::Cord(absl::StrCat(rc)));
  return status;
}

std::optional<int> LmdbErrorCode(const absl::Status& status) {
  if (status.ok()) return std::nullopt;
  absl::optional<absl::Cord> payload = status.GetPayload(kLmdbErrorPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  int rc = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &rc)) return std::nullopt;
  return rc;
}

bool IsMapFull(const absl::Status& status) {
  std::optional<int> rc = LmdbErrorCode(status);
  return rc.has_value() && *rc == MDB_MAP_FULL;
}

}  // namespace appliance::store
