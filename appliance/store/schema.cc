#include "appliance/store/schema.h"

#include <optional>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/store/keys.h"

namespace appliance::store {
namespace {

// Prefixes `status`'s message, keeping its code and payloads.
absl::Status Annotate(const absl::Status& status, const std::string& prefix) {
  if (status.ok()) return status;
  absl::Status out(status.code(), absl::StrCat(prefix, status.message()));
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) {
        out.SetPayload(url, payload);
      });
  return out;
}

// True when every sub-database of `env` is empty.
absl::StatusOr<bool> StoreIsEmpty(const Txn& txn, const Env& env) {
  for (const Dbi& dbi : env.dbis()) {
    ASSIGN_OR_RETURN(uint64_t n, txn.Count(dbi));
    if (n != 0) return false;
  }
  return true;
}

// Reads the version inside `txn`: nullopt when none is stored.
absl::StatusOr<std::optional<uint32_t>> FindVersion(const Txn& txn, Dbi meta) {
  absl::StatusOr<uint32_t> version = ReadSchemaVersion(txn, meta);
  if (absl::IsNotFound(version.status())) return std::optional<uint32_t>();
  if (!version.ok()) return version.status();
  return std::optional<uint32_t>(*version);
}

}  // namespace

uint32_t LatestSchemaVersion(absl::Span<const Migration> migrations) {
  return static_cast<uint32_t>(migrations.size()) + 1;
}

absl::StatusOr<uint32_t> ReadSchemaVersion(const Txn& txn, Dbi meta) {
  ASSIGN_OR_RETURN(std::optional<std::string_view> value,
                   txn.Find(meta, kSchemaVersionKey));
  if (!value.has_value()) {
    return absl::NotFoundError(absl::StrCat("no ", kSchemaVersionKey,
                                            " in sub-database ", kMetaDbName));
  }
  absl::StatusOr<uint32_t> version = DecodeU32BE(*value);
  if (!version.ok() || *version == 0) {
    return absl::DataLossError(absl::StrCat(
        "malformed ", kSchemaVersionKey, " in sub-database ", kMetaDbName, " (",
        value->size(), " bytes; expected a non-zero big-endian uint32)"));
  }
  return *version;
}

absl::Status WriteSchemaVersion(WriteTxn& txn, Dbi meta, uint32_t version) {
  return txn.Put(meta, kSchemaVersionKey, EncodeU32BE(version));
}

absl::StatusOr<SchemaState> OpenSchema(Env& env,
                                       absl::Span<const Migration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    const Migration& m = migrations[i];
    if (m.from_version != i + 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "migration #", i, " (\"", m.description, "\") upgrades from version ",
          m.from_version, " but the chain needs ", i + 1, " there"));
    }
    if (!m.apply) {
      return absl::InvalidArgumentError(absl::StrCat(
          "migration from version ", m.from_version, " has no function"));
    }
  }
  absl::StatusOr<Dbi> meta_or = env.GetDbi(kMetaDbName);
  if (!meta_or.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store ", env.path(), " was opened without the \"", kMetaDbName,
        "\" sub-database that holds the schema version"));
  }
  const Dbi meta = *meta_or;
  const uint32_t latest = LatestSchemaVersion(migrations);
  const bool read_only = env.options().read_only;

  SchemaState state;
  state.version = latest;
  std::optional<uint32_t> found;
  {
    ASSIGN_OR_RETURN(ReadTxn txn, env.BeginRead());
    ASSIGN_OR_RETURN(found, FindVersion(txn, meta));
    if (!found.has_value()) {
      ASSIGN_OR_RETURN(bool empty, StoreIsEmpty(txn, env));
      if (!empty) {
        return absl::DataLossError(
            absl::StrCat("store ", env.path(), " holds data but no ",
                         kSchemaVersionKey, "; refusing to guess its schema"));
      }
    }
  }

  if (!found.has_value()) {
    if (read_only) {
      return absl::FailedPreconditionError(absl::StrCat(
          "store ", env.path(),
          " has no schema yet and is open read-only, so it cannot be "
          "created"));
    }
    RETURN_IF_ERROR(RunInWriteTxn(env, [&](WriteTxn& txn) -> absl::Status {
      // Re-check under the write lock.
      ASSIGN_OR_RETURN(std::optional<uint32_t> now, FindVersion(txn, meta));
      if (now.has_value()) {
        return absl::AbortedError("schema version appeared concurrently");
      }
      return WriteSchemaVersion(txn, meta, latest);
    }));
    state.created = true;
    return state;
  }

  state.found_version = *found;
  if (*found > latest) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store ", env.path(), " has schema version ", *found,
        ", newer than the latest this build knows (", latest,
        "); run the appliance build that wrote it, or restore a backup"));
  }
  if (*found < latest && read_only) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store ", env.path(), " has schema version ", *found,
        " and needs migrating to ", latest, ", but is open read-only"));
  }
  for (uint32_t v = *found; v < latest; ++v) {
    const Migration& m = migrations[v - 1];
    const std::string where = absl::StrCat("migration ", v, " -> ", v + 1, " (",
                                           m.description, "): ");
    absl::Status status =
        RunInWriteTxn(env, [&](WriteTxn& txn) -> absl::Status {
          ASSIGN_OR_RETURN(uint32_t now, ReadSchemaVersion(txn, meta));
          if (now != v) {
            return absl::AbortedError(absl::StrCat("schema version changed to ",
                                                   now, " concurrently"));
          }
          RETURN_IF_ERROR(m.apply(txn));
          return WriteSchemaVersion(txn, meta, v + 1);
        });
    RETURN_IF_ERROR(Annotate(status, where));
    ++state.migrations_run;
  }
  return state;
}

}  // namespace appliance::store
