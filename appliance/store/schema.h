// The store's schema version and its migrations.
//
// The `meta` sub-database holds the version as a big-endian uint32 under the
// key "schema_version". Version 1 is the first schema; migration i of the
// chain upgrades version i+1 to i+2, so the latest version the code knows is
// migrations.size() + 1. Each migration runs in one write transaction
// together with its version bump: a crash or an error leaves the store at
// the previous version with none of that migration's changes, and the next
// start runs it again.
//
//   const Migration kMigrations[] = {
//       {1, "index messages by sender", &AddSenderIndex},
//   };
//   ASSIGN_OR_RETURN(SchemaState schema, OpenSchema(*env, kMigrations));
#ifndef APPLIANCE_STORE_SCHEMA_H_
#define APPLIANCE_STORE_SCHEMA_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "appliance/store/lmdb_env.h"

namespace appliance::store {

// Sub-database holding store-wide metadata; list it in EnvOptions::db_names.
inline constexpr char kMetaDbName[] = "meta";
// Key of the schema version in kMetaDbName.
inline constexpr char kSchemaVersionKey[] = "schema_version";

struct Migration {
  // The version this migration upgrades from (to from_version + 1).
  uint32_t from_version = 0;
  // For logs and errors, e.g. "index messages by sender".
  std::string description;
  // Rewrites the data inside `txn`; must not commit or abort it. May run
  // again after a crash or a map-full retry, always on the from_version data
  // (the earlier attempt's changes are discarded), so it needs no effects
  // outside the transaction.
  std::function<absl::Status(WriteTxn& txn)> apply;
};

// What OpenSchema() found and did.
struct SchemaState {
  uint32_t version = 0;        // The version now (the latest).
  uint32_t found_version = 0;  // The version on disk before; 0 if created.
  bool created = false;        // A fresh store was stamped with `version`.
  int migrations_run = 0;
};

// migrations.size() + 1.
uint32_t LatestSchemaVersion(absl::Span<const Migration> migrations);

// The stored version: NOT_FOUND if none, DATA_LOSS if not 4 bytes or 0.
absl::StatusOr<uint32_t> ReadSchemaVersion(const Txn& txn, Dbi meta);
absl::Status WriteSchemaVersion(WriteTxn& txn, Dbi meta, uint32_t version);

// Brings the store to the latest version. A fresh store (no version, every
// sub-database empty) is stamped with the latest version and runs no
// migration; an older store runs each missing migration in order, one write
// transaction each (growing the map if needed). Errors:
//   INVALID_ARGUMENT     the chain is not 1, 2, 3, ... or lacks a function
//   FAILED_PRECONDITION  no kMetaDbName sub-database; the store's version is
//                        newer than this code knows; or the Env is read-only
//                        and the store needs creating or migrating
//   DATA_LOSS            malformed version, or data without a version
//   a migration's own error, prefixed with its version and description
absl::StatusOr<SchemaState> OpenSchema(Env& env,
                                       absl::Span<const Migration> migrations);

}  // namespace appliance::store

#endif  // APPLIANCE_STORE_SCHEMA_H_
