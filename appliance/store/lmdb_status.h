// The one place LMDB return codes become absl::Status values.
//
// Every call into liblmdb in the appliance goes through LmdbStatus(), so a
// given failure always carries the same canonical code:
//
//   MDB_NOTFOUND                              NOT_FOUND
//   MDB_KEYEXIST                              ALREADY_EXISTS
//   MDB_MAP_FULL                              RESOURCE_EXHAUSTED (grow the map)
//   MDB_READERS_FULL, MDB_TXN_FULL,
//   MDB_DBS_FULL, MDB_TLS_FULL, ENOSPC,
//   EDQUOT, ENOMEM, EMFILE, ENFILE            RESOURCE_EXHAUSTED
//   MDB_CORRUPTED, MDB_PAGE_NOTFOUND,
//   MDB_INVALID, MDB_VERSION_MISMATCH         DATA_LOSS
//   EACCES, EPERM                             PERMISSION_DENIED
//   EROFS, ENOTDIR, EISDIR,
//   MDB_INCOMPATIBLE, MDB_BAD_TXN,
//   MDB_BAD_RSLOT, MDB_BAD_DBI                FAILED_PRECONDITION
//   MDB_BAD_VALSIZE, EINVAL, ENAMETOOLONG     INVALID_ARGUMENT
//   ENOENT                                    NOT_FOUND
//   EEXIST                                    ALREADY_EXISTS
//   EIO, EAGAIN, EBUSY, EINTR,
//   MDB_MAP_RESIZED                           UNAVAILABLE
//   anything else (MDB_PANIC, ...)            INTERNAL
//
// The message names the operation and carries mdb_strerror()'s text; the
// original LMDB code travels as a status payload so callers can tell apart
// causes that share a canonical code (IsMapFull()).
#ifndef APPLIANCE_STORE_LMDB_STATUS_H_
#define APPLIANCE_STORE_LMDB_STATUS_H_

#include <optional>
#include <string_view>

#include "absl/status/status.h"

namespace appliance::store {

// Status payload type URL holding the LMDB return code as decimal text.
inline constexpr char kLmdbErrorPayloadUrl[] = "type.appliance/store.LmdbError";

// The canonical code for an LMDB (or errno) return code. kOk for 0.
absl::StatusCode LmdbStatusCode(int rc);

// OkStatus() when `rc` is MDB_SUCCESS; otherwise a status with
// LmdbStatusCode(rc) and the message "<operation>: <mdb_strerror(rc)>", plus
// a hint for the codes an operator can act on. `operation` names the call and
// its object, e.g. "mdb_put(messages)". Builds no string on success.
absl::Status LmdbStatus(int rc, std::string_view operation);

// The LMDB return code a status from LmdbStatus() was made from, or nullopt
// if `status` did not come from LmdbStatus().
std::optional<int> LmdbErrorCode(const absl::Status& status);

// True when `status` came from MDB_MAP_FULL: the single writer should abort
// the transaction, call Env::GrowMap() and retry the whole transaction.
bool IsMapFull(const absl::Status& status);

}  // namespace appliance::store

#endif  // APPLIANCE_STORE_LMDB_STATUS_H_
