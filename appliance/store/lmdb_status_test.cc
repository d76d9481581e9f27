#include "appliance/store/lmdb_status.h"

#include <lmdb.h>

#include <cerrno>
#include <string>

#include "gtest/gtest.h"

namespace appliance::store {
namespace {

using absl::StatusCode;

TEST(LmdbStatusTest, SuccessIsOk) {
  EXPECT_TRUE(LmdbStatus(MDB_SUCCESS, "mdb_get(x)").ok());
  EXPECT_EQ(LmdbStatusCode(MDB_SUCCESS), StatusCode::kOk);
}

TEST(LmdbStatusTest, MapsEveryDocumentedCode) {
  struct Case {
    int rc;
    StatusCode code;
  };
  const Case kCases[] = {
      {MDB_NOTFOUND, StatusCode::kNotFound},
      {MDB_KEYEXIST, StatusCode::kAlreadyExists},
      {MDB_MAP_FULL, StatusCode::kResourceExhausted},
      {MDB_READERS_FULL, StatusCode::kResourceExhausted},
      {MDB_TXN_FULL, StatusCode::kResourceExhausted},
      {MDB_DBS_FULL, StatusCode::kResourceExhausted},
      {MDB_TLS_FULL, StatusCode::kResourceExhausted},
      {ENOSPC, StatusCode::kResourceExhausted},
      {EDQUOT, StatusCode::kResourceExhausted},
      {ENOMEM, StatusCode::kResourceExhausted},
      {EMFILE, StatusCode::kResourceExhausted},
      {ENFILE, StatusCode::kResourceExhausted},
      {MDB_CORRUPTED, StatusCode::kDataLoss},
      {MDB_PAGE_NOTFOUND, StatusCode::kDataLoss},
      {MDB_INVALID, StatusCode::kDataLoss},
      {MDB_VERSION_MISMATCH, StatusCode::kDataLoss},
      {EACCES, StatusCode::kPermissionDenied},
      {EPERM, StatusCode::kPermissionDenied},
      {EROFS, StatusCode::kFailedPrecondition},
      {ENOTDIR, StatusCode::kFailedPrecondition},
      {EISDIR, StatusCode::kFailedPrecondition},
      {MDB_INCOMPATIBLE, StatusCode::kFailedPrecondition},
      {MDB_BAD_TXN, StatusCode::kFailedPrecondition},
      {MDB_BAD_RSLOT, StatusCode::kFailedPrecondition},
      {MDB_BAD_DBI, StatusCode::kFailedPrecondition},
      {MDB_BAD_VALSIZE, StatusCode::kInvalidArgument},
      {EINVAL, StatusCode::kInvalidArgument},
      {ENAMETOOLONG, StatusCode::kInvalidArgument},
      {ENOENT, StatusCode::kNotFound},
      {EEXIST, StatusCode::kAlreadyExists},
      {EIO, StatusCode::kUnavailable},
      {EAGAIN, StatusCode::kUnavailable},
      {EBUSY, StatusCode::kUnavailable},
      {EINTR, StatusCode::kUnavailable},
      {MDB_MAP_RESIZED, StatusCode::kUnavailable},
      {MDB_PANIC, StatusCode::kInternal},
      {MDB_CURSOR_FULL, StatusCode::kInternal},
      {MDB_PAGE_FULL, StatusCode::kInternal},
      {EXDEV, StatusCode::kInternal},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(mdb_strerror(c.rc));
    EXPECT_EQ(LmdbStatusCode(c.rc), c.code);
    const absl::Status status = LmdbStatus(c.rc, "op");
    EXPECT_EQ(status.code(), c.code);
    EXPECT_EQ(LmdbErrorCode(status), c.rc);
  }
}

TEST(LmdbStatusTest, MessageNamesOperationAndLmdbText) {
  const absl::Status status = LmdbStatus(MDB_NOTFOUND, "mdb_get(messages)");
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  const std::string message(status.message());
  EXPECT_EQ(message.rfind("mdb_get(messages): ", 0), 0u) << message;
  EXPECT_NE(message.find(mdb_strerror(MDB_NOTFOUND)), std::string::npos)
      << message;
}

TEST(LmdbStatusTest, ErrnoMessageCarriesNumberAndHint) {
  const absl::Status status = LmdbStatus(EACCES, "mdb_env_open(/data)");
  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied);
  const std::string message(status.message());
  EXPECT_NE(message.find("mdb_env_open(/data)"), std::string::npos);
  EXPECT_NE(message.find("(errno 13)"), std::string::npos) << message;
  EXPECT_NE(message.find("permissions"), std::string::npos) << message;
}

TEST(LmdbStatusTest, MapFullIsRecognisable) {
  EXPECT_TRUE(IsMapFull(LmdbStatus(MDB_MAP_FULL, "mdb_put(x)")));
  // Same canonical code, different cause.
  EXPECT_FALSE(IsMapFull(LmdbStatus(MDB_READERS_FULL, "mdb_txn_begin")));
  EXPECT_FALSE(IsMapFull(LmdbStatus(ENOSPC, "write")));
  EXPECT_FALSE(IsMapFull(absl::ResourceExhaustedError("not from lmdb")));
  EXPECT_FALSE(IsMapFull(absl::OkStatus()));
  EXPECT_FALSE(LmdbErrorCode(absl::InternalError("x")).has_value());
}

}  // namespace
}  // namespace appliance::store
