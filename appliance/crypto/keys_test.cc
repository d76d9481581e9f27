#include "appliance/crypto/keys.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "appliance/crypto/aead.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace appliance::crypto {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A fresh directory under TEST_TMPDIR for the running test.
std::string TestDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string base = tmp != nullptr ? tmp : "/tmp";
  const ::testing::TestInfo* info =
      ::testing::UnitTest::GetInstance()->current_test_info();
  std::string dir = base + "/" + info->test_suite_name() + "." + info->name();
  std::string cmd = "rm -rf '" + dir + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(mkdir(dir.c_str(), 0700), 0) << dir;
  return dir;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

void WriteFile(const std::string& path, std::string_view contents,
               mode_t mode = 0600) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    ASSERT_TRUE(out.good()) << path;
  }
  ASSERT_EQ(chmod(path.c_str(), mode), 0);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

const KeyFileOptions kCreate{/*create_if_missing=*/true};

// ----------------------------------------------------------------- KeyFile

TEST(KeyFileTest, SerializeParseRoundTrip) {
  const KeyFile keys = KeyFile::Generate();
  EXPECT_EQ(keys.kek().size(), 32u);
  EXPECT_EQ(keys.audit_hmac_key().size(), 32u);
  EXPECT_NE(keys.kek(), keys.audit_hmac_key());
  const std::string bytes = keys.Serialize();
  ASSERT_EQ(bytes.size(), kKeyFileSize);
  EXPECT_EQ(bytes.substr(0, 12), std::string("HL7AKEY\n\0\0\0\1", 12));
  absl::StatusOr<KeyFile> parsed = KeyFile::Parse(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->kek(), keys.kek());
  EXPECT_EQ(parsed->audit_hmac_key(), keys.audit_hmac_key());
  EXPECT_FALSE(parsed->created());
}

TEST(KeyFileTest, FromKeys) {
  const std::string a(32, 'a'), b(32, 'b');
  absl::StatusOr<KeyFile> keys = KeyFile::FromKeys(a, b);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->kek(), a);
  EXPECT_EQ(keys->audit_hmac_key(), b);
  EXPECT_EQ(KeyFile::FromKeys(a, "short").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KeyFile::FromKeys(std::string(33, 'a'), b).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(KeyFileTest, MoveKeepsKeys) {
  KeyFile a = KeyFile::Generate();
  const std::string kek(a.kek());
  KeyFile b = std::move(a);
  EXPECT_EQ(b.kek(), kek);
  KeyFile c = KeyFile::Generate();
  c = std::move(b);
  EXPECT_EQ(c.kek(), kek);
}

TEST(KeyFileTest, MissingFileWithoutCreateIsNotFound) {
  const std::string dir = TestDir();
  const std::string path = dir + "/keys";
  absl::StatusOr<KeyFile> keys = KeyFile::Load(path);
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(keys.status().message(), HasSubstr(path));
  EXPECT_TRUE(ListDir(dir).empty());
}

TEST(KeyFileTest, CreatesWithMode0600AndLoadsSameKeysAgain) {
  const std::string dir = TestDir();
  const std::string path = dir + "/keys";
  absl::StatusOr<KeyFile> created = KeyFile::Load(path, kCreate);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->created());
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_THAT(ListDir(dir), ElementsAre("keys"));  // No temporary left.
  EXPECT_EQ(ReadFile(path), created->Serialize());

  absl::StatusOr<KeyFile> loaded = KeyFile::Load(path, kCreate);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_FALSE(loaded->created());
  EXPECT_EQ(loaded->kek(), created->kek());
  EXPECT_EQ(loaded->audit_hmac_key(), created->audit_hmac_key());

  absl::StatusOr<KeyFile> without_create = KeyFile::Load(path);
  ASSERT_TRUE(without_create.ok());
  EXPECT_EQ(without_create->kek(), created->kek());
}

TEST(KeyFileTest, CreatedKeysAreFresh) {
  const std::string dir = TestDir();
  absl::StatusOr<KeyFile> a = KeyFile::Load(dir + "/a", kCreate);
  absl::StatusOr<KeyFile> b = KeyFile::Load(dir + "/b", kCreate);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->kek(), b->kek());
  EXPECT_NE(a->audit_hmac_key(), b->audit_hmac_key());
  EXPECT_NE(a->kek(), a->audit_hmac_key());
}

TEST(KeyFileTest, CreateIgnoresPermissiveUmask) {
  const std::string path = TestDir() + "/keys";
  const mode_t old_umask = umask(0);
  absl::StatusOr<KeyFile> keys = KeyFile::Load(path, kCreate);
  umask(old_umask);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(ModeOf(path), 0600u);
}

TEST(KeyFileTest, CreateInMissingDirectoryFails) {
  const std::string path = TestDir() + "/no/such/dir/keys";
  EXPECT_EQ(KeyFile::Load(path, kCreate).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(KeyFileTest, ConcurrentCreatorsAgreeOnOneFile) {
  const std::string dir = TestDir();
  for (int round = 0; round < 10; ++round) {
    const std::string path = dir + "/keys" + std::to_string(round);
    constexpr int kThreads = 4;
    std::vector<std::string> keks(kThreads);
    std::atomic<int> created{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        absl::StatusOr<KeyFile> keys = KeyFile::Load(path, kCreate);
        ASSERT_TRUE(keys.ok()) << keys.status();
        keks[t] = std::string(keys->kek());
        if (keys->created()) ++created;
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(created.load(), 1);
    for (const std::string& kek : keks) EXPECT_EQ(kek, keks[0]);
  }
  EXPECT_EQ(ListDir(dir).size(), 10u);  // No temporaries left.
}

TEST(KeyFileTest, RefusesGroupOrOtherAccess) {
  const std::string path = TestDir() + "/keys";
  const std::string bytes = KeyFile::Generate().Serialize();
  for (mode_t mode : {0640, 0604, 0620, 0602, 0610, 0601, 0644, 0666}) {
    WriteFile(path, bytes, mode);
    absl::StatusOr<KeyFile> keys = KeyFile::Load(path, kCreate);
    EXPECT_EQ(keys.status().code(), absl::StatusCode::kFailedPrecondition)
        << std::oct << mode;
    EXPECT_THAT(keys.status().message(), HasSubstr("chmod 600"));
    EXPECT_EQ(ReadFile(path), bytes);  // Never replaced.
  }
  for (mode_t mode : {0600, 0400, 0700}) {
    WriteFile(path, bytes, mode);
    EXPECT_TRUE(KeyFile::Load(path).ok()) << std::oct << mode;
  }
}

TEST(KeyFileTest, RefusesDirectory) {
  const std::string path = TestDir() + "/keys";
  ASSERT_EQ(mkdir(path.c_str(), 0700), 0);
  EXPECT_EQ(KeyFile::Load(path, kCreate).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(KeyFileTest, FollowsSymlink) {
  const std::string dir = TestDir();
  absl::StatusOr<KeyFile> created = KeyFile::Load(dir + "/real", kCreate);
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(symlink((dir + "/real").c_str(), (dir + "/link").c_str()), 0);
  absl::StatusOr<KeyFile> loaded = KeyFile::Load(dir + "/link");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->kek(), created->kek());
}

TEST(KeyFileTest, TruncatedFileIsDataLoss) {
  const std::string path = TestDir() + "/keys";
  const std::string bytes = KeyFile::Generate().Serialize();
  for (size_t len = 0; len < bytes.size(); ++len) {
    WriteFile(path, bytes.substr(0, len));
    absl::StatusOr<KeyFile> keys = KeyFile::Load(path, kCreate);
    EXPECT_EQ(keys.status().code(), absl::StatusCode::kDataLoss)
        << "length " << len << ": " << keys.status();
    EXPECT_EQ(ReadFile(path), bytes.substr(0, len));  // Never replaced.
  }
}

TEST(KeyFileTest, TrailingBytesAreDataLoss) {
  const std::string path = TestDir() + "/keys";
  WriteFile(path, KeyFile::Generate().Serialize() + "x");
  EXPECT_EQ(KeyFile::Load(path).status().code(), absl::StatusCode::kDataLoss);
}

TEST(KeyFileTest, BadMagicOrVersionIsInvalidArgument) {
  std::string bytes = KeyFile::Generate().Serialize();
  std::string text = "kek=0123\n";
  EXPECT_EQ(KeyFile::Parse(text).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string v2 = bytes;
  v2[11] = 2;
  absl::Status status = KeyFile::Parse(v2).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("version 2"));
}

TEST(KeyFileTest, EveryFlippedBitIsDetected) {
  const std::string bytes = KeyFile::Generate().Serialize();
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = bytes;
      damaged[i] = static_cast<char>(damaged[i] ^ (1 << bit));
      const absl::StatusCode code = KeyFile::Parse(damaged).status().code();
      EXPECT_EQ(code, i < 12 ? absl::StatusCode::kInvalidArgument
                             : absl::StatusCode::kDataLoss)
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST(KeyFileTest, ErrorsNameThePath) {
  const std::string path = TestDir() + "/keys";
  WriteFile(path, "HL7AKEY\n");
  absl::Status status = KeyFile::Load(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr(path));
}

// ------------------------------------------------------------- DataKeyRing

std::unique_ptr<DataKeyRing> NewRing(const std::string& kek) {
  absl::StatusOr<std::unique_ptr<DataKeyRing>> ring = DataKeyRing::Create(kek);
  EXPECT_TRUE(ring.ok()) << ring.status();
  return std::move(ring).value();
}

const std::string kKek(32, 'K');
const std::string kOtherKek(32, 'O');

TEST(DataKeyRingTest, CreateRejectsBadKek) {
  EXPECT_EQ(DataKeyRing::Create("short").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DataKeyRingTest, EmptyRingCannotSeal) {
  auto ring = NewRing(kKek);
  EXPECT_EQ(ring->current_key_id(), 0u);
  EXPECT_EQ(ring->size(), 0u);
  EXPECT_TRUE(ring->Export().empty());
  EXPECT_EQ(ring->Seal("x", "aad").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(DataKeyRingTest, SealOpenRoundTrip) {
  auto ring = NewRing(kKek);
  absl::StatusOr<WrappedKey> key = ring->Rotate();
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->id, 1u);
  EXPECT_EQ(key->wrapped.size(), 60u);
  EXPECT_EQ(ring->current_key_id(), 1u);

  const std::string plaintext = "MSH|^~\\&|LAB|HOSP\rPID|1||12345\r";
  absl::StatusOr<std::string> blob = ring->Seal(plaintext, "msg/42");
  ASSERT_TRUE(blob.ok()) << blob.status();
  EXPECT_EQ(blob->size(), plaintext.size() + kSealOverhead);
  EXPECT_EQ(blob->substr(0, 4), std::string("\0\0\0\1", 4));
  EXPECT_EQ(blob->find("PID"), std::string::npos);
  EXPECT_EQ(*DataKeyRing::KeyIdOf(*blob), 1u);

  absl::StatusOr<std::string> opened = ring->Open(*blob, "msg/42");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, plaintext);

  // Fresh nonce each time.
  EXPECT_NE(*ring->Seal(plaintext, "msg/42"), *blob);
}

TEST(DataKeyRingTest, EmptyPlaintext) {
  auto ring = NewRing(kKek);
  ASSERT_TRUE(ring->Rotate().ok());
  absl::StatusOr<std::string> blob = ring->Seal("", "");
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->size(), kSealOverhead);
  EXPECT_EQ(*ring->Open(*blob, ""), "");
}

TEST(DataKeyRingTest, RotateKeepsOldKeysForOpening) {
  auto ring = NewRing(kKek);
  ASSERT_TRUE(ring->Rotate().ok());
  const std::string old_blob = *ring->Seal("old", "a");
  absl::StatusOr<WrappedKey> second = ring->Rotate();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->id, 2u);
  EXPECT_EQ(ring->current_key_id(), 2u);
  const std::string new_blob = *ring->Seal("new", "a");
  EXPECT_EQ(*DataKeyRing::KeyIdOf(new_blob), 2u);
  EXPECT_EQ(*ring->Open(old_blob, "a"), "old");
  EXPECT_EQ(*ring->Open(new_blob, "a"), "new");
  EXPECT_EQ(ring->size(), 2u);
}

TEST(DataKeyRingTest, UnknownKeyIdIsNotFound) {
  auto ring = NewRing(kKek);
  ASSERT_TRUE(ring->Rotate().ok());
  std::string blob = *ring->Seal("x", "a");
  blob[3] = 99;
  absl::Status status = ring->Open(blob, "a").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("99"));
}

TEST(DataKeyRingTest, BlobUnderOtherExistingKeyIsDataLoss) {
  auto ring = NewRing(kKek);
  ASSERT_TRUE(ring->Rotate().ok());
  ASSERT_TRUE(ring->Rotate().ok());
  std::string blob = *ring->Seal("x", "a");
  blob[3] = 1;  // Claims key 1, sealed under key 2.
  EXPECT_EQ(ring->Open(blob, "a").status().code(), absl::StatusCode::kDataLoss);
}

TEST(DataKeyRingTest, TamperingIsDataLoss) {
  auto ring = NewRing(kKek);
  ASSERT_TRUE(ring->Rotate().ok());
  const std::string blob = *ring->Seal("payload", "aad");
  for (size_t i = kKeyIdSize; i < blob.size(); ++i) {
    std::string damaged = blob;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x01);
    EXPECT_EQ(ring->Open(damaged, "aad").status().code(),
              absl::StatusCode::kDataLoss)
        << "byte " << i;
  }
  EXPECT_EQ(ring->Open(blob, "other aad").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ring->Open(blob.substr(0, blob.size() - 1), "aad").status().code(),
            absl::StatusCode::kDataLoss);
  for (size_t len = 0; len < kSealOverhead; ++len) {
    EXPECT_EQ(ring->Open(blob.substr(0, len), "aad").status().code(),
              absl::StatusCode::kDataLoss);
    EXPECT_EQ(DataKeyRing::KeyIdOf(blob.substr(0, len)).status().code(),
              absl::StatusCode::kDataLoss);
  }
}

TEST(DataKeyRingTest, ExportImportRestoresRing) {
  auto ring = NewRing(kKek);
  ASSERT_TRUE(ring->Rotate().ok());
  const std::string blob1 = *ring->Seal("one", "a");
  ASSERT_TRUE(ring->Rotate().ok());
  ASSERT_TRUE(ring->Rotate().ok());
  const std::string blob3 = *ring->Seal("three", "a");

  const std::vector<WrappedKey> exported = ring->Export();
  ASSERT_EQ(exported.size(), 3u);
  EXPECT_EQ(exported[0].id, 1u);
  EXPECT_EQ(exported[1].id, 2u);
  EXPECT_EQ(exported[2].id, 3u);

  // As after a restart: a new ring from the same KEK and the persisted keys,
  // given in any order.
  auto restored = NewRing(kKek);
  ASSERT_TRUE(restored->Import({exported[2], exported[0], exported[1]}).ok());
  EXPECT_EQ(restored->current_key_id(), 3u);
  EXPECT_EQ(restored->Export(), exported);
  EXPECT_EQ(*restored->Open(blob1, "a"), "one");
  EXPECT_EQ(*restored->Open(blob3, "a"), "three");
  EXPECT_EQ(*ring->Open(*restored->Seal("back", "a"), "a"), "back");

  absl::StatusOr<WrappedKey> next = restored->Rotate();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->id, 4u);
}

TEST(DataKeyRingTest, ImportWithWrongKekIsDataLossAndAddsNothing) {
  auto ring = NewRing(kKek);
  ASSERT_TRUE(ring->Rotate().ok());
  auto other = NewRing(kOtherKek);
  const absl::Status status = other->Import(ring->Export());
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("key-encryption key"));
  EXPECT_EQ(other->size(), 0u);
}

TEST(DataKeyRingTest, ImportIsAllOrNothing) {
  auto source = NewRing(kKek);
  ASSERT_TRUE(source->Rotate().ok());
  ASSERT_TRUE(source->Rotate().ok());
  std::vector<WrappedKey> keys = source->Export();
  keys[1].wrapped[20] ^= 1;
  auto ring = NewRing(kKek);
  EXPECT_EQ(ring->Import(keys).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ring->size(), 0u);
}

TEST(DataKeyRingTest, WrappedKeyBoundToItsId) {
  auto source = NewRing(kKek);
  absl::StatusOr<WrappedKey> key = source->Rotate();
  ASSERT_TRUE(key.ok());
  WrappedKey moved = *key;
  moved.id = 7;
  auto ring = NewRing(kKek);
  EXPECT_EQ(ring->Add(moved).code(), absl::StatusCode::kDataLoss);
}

TEST(DataKeyRingTest, MalformedWrappedKeys) {
  auto ring = NewRing(kKek);
  absl::StatusOr<WrappedKey> key = ring->NewKey();
  ASSERT_TRUE(key.ok());
  WrappedKey zero = *key;
  zero.id = 0;
  EXPECT_EQ(ring->Add(zero).code(), absl::StatusCode::kInvalidArgument);
  WrappedKey short_key = *key;
  short_key.wrapped.pop_back();
  EXPECT_EQ(ring->Add(short_key).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ring->Add(WrappedKey{1, ""}).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ring->size(), 0u);
}

TEST(DataKeyRingTest, DuplicateIds) {
  auto ring = NewRing(kKek);
  absl::StatusOr<WrappedKey> key = ring->Rotate();
  ASSERT_TRUE(key.ok());
  // The same key again, even wrapped anew, is accepted and changes nothing.
  EXPECT_TRUE(ring->Add(*key).ok());
  auto twin = NewRing(kKek);
  ASSERT_TRUE(twin->Add(*key).ok());
  EXPECT_EQ(ring->Export(), std::vector<WrappedKey>{*key});

  // A different key with the same id is refused.
  auto other = NewRing(kKek);
  absl::StatusOr<WrappedKey> clash = other->Rotate();
  ASSERT_TRUE(clash.ok());
  ASSERT_EQ(clash->id, key->id);
  EXPECT_EQ(ring->Add(*clash).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(other->Import({*clash, *key}).code(),
            absl::StatusCode::kAlreadyExists);
  auto fresh = NewRing(kKek);
  EXPECT_EQ(fresh->Import({*key, *clash}).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(fresh->size(), 0u);
  // The ring still uses its own key.
  const std::string blob = *ring->Seal("x", "");
  EXPECT_EQ(*ring->Open(blob, ""), "x");
  EXPECT_EQ(other->Open(blob, "").status().code(), absl::StatusCode::kDataLoss);
}

TEST(DataKeyRingTest, NewKeyThenAddPersistsBeforeUse) {
  auto ring = NewRing(kKek);
  ASSERT_TRUE(ring->Rotate().ok());
  absl::StatusOr<WrappedKey> key = ring->NewKey();
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->id, 2u);
  EXPECT_EQ(ring->current_key_id(), 1u);  // Not used until added.
  EXPECT_EQ(*DataKeyRing::KeyIdOf(*ring->Seal("x", "")), 1u);
  ASSERT_TRUE(ring->Add(*key).ok());
  EXPECT_EQ(ring->current_key_id(), 2u);
  EXPECT_EQ(*DataKeyRing::KeyIdOf(*ring->Seal("x", "")), 2u);
}

TEST(DataKeyRingTest, WrappingFormatIsAsDocumented) {
  // Wrap a key by hand: AES-256-GCM under the KEK with associated data
  // "hl7-appliance data key v1" || big-endian id.
  const uint32_t id = std::numeric_limits<uint32_t>::max();
  const std::string data_key(32, 'D');
  absl::StatusOr<Aes256Gcm> kek = Aes256Gcm::Create(kKek);
  ASSERT_TRUE(kek.ok());
  absl::StatusOr<std::string> wrapped = kek->Seal(
      data_key, std::string("hl7-appliance data key v1\xff\xff\xff\xff"));
  ASSERT_TRUE(wrapped.ok());
  auto ring = NewRing(kKek);
  ASSERT_TRUE(ring->Add(WrappedKey{id, *wrapped}).ok());
  EXPECT_EQ(ring->current_key_id(), id);

  // The blob opens with the data key directly.
  const std::string blob = *ring->Seal("hello", "aad");
  absl::StatusOr<Aes256Gcm> direct = Aes256Gcm::Create(data_key);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(*direct->Open(blob.substr(4), "aad"), "hello");

  // No id after 0xffffffff.
  EXPECT_EQ(ring->Rotate().status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ring->NewKey().status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(DataKeyRingTest, ConcurrentSealOpenAndRotate) {
  auto ring = NewRing(kKek);
  ASSERT_TRUE(ring->Rotate().ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string text = std::to_string(t * 1000 + i);
        absl::StatusOr<std::string> blob = ring->Seal(text, "a");
        if (!blob.ok()) {
          ++failures;
          continue;
        }
        absl::StatusOr<std::string> opened = ring->Open(*blob, "a");
        if (!opened.ok() || *opened != text) ++failures;
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 20; ++i) {
      if (!ring->Rotate().ok()) ++failures;
    }
  });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ring->current_key_id(), 21u);
  EXPECT_EQ(ring->size(), 21u);
}

}  // namespace
}  // namespace appliance::crypto
