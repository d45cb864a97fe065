// ACME's files: private modes whatever the umask, atomic replacement, bounded reads.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>

#include <string>

#include "proxy/acme/storage.h"
#include "support/child_process.h"
#include "support/temp_dir.h"

namespace ferry::proxy::acme {
namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

TEST(AcmeStorage, DirectoriesAre0700AndFiles0600WhateverTheUmask) {
  testing::TempDir dir;
  const mode_t old = ::umask(0);
  const Storage storage(dir.path() + "/a/b/acme");
  std::string error;
  ASSERT_TRUE(storage.prepare(&error)) << error;
  ASSERT_TRUE(storage.write("account.key", "secret", &error)) << error;
  ::umask(old);
  EXPECT_EQ(mode_of(dir.path() + "/a/b/acme"), 0700u);
  EXPECT_EQ(mode_of(storage.path("account.key")), 0600u);
  EXPECT_EQ(storage.read("account.key"), "secret");
  EXPECT_FALSE(storage.read("missing"));
}

TEST(AcmeStorage, AnExistingLooserDirectoryIsTightened) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/acme";
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
  std::string error;
  ASSERT_TRUE(Storage(path).prepare(&error)) << error;
  EXPECT_EQ(mode_of(path), 0700u);
}

TEST(AcmeStorage, AWriteReplacesTheFileWholeAndLeavesNoTemporaryFile) {
  testing::TempDir dir;
  const Storage storage(dir.path());
  std::string error;
  ASSERT_TRUE(storage.write("cert.pem", std::string(100'000, 'a'), &error)) << error;
  ASSERT_TRUE(storage.write("cert.pem", "short", &error)) << error;
  EXPECT_EQ(storage.read("cert.pem"), "short");
  int files = 0;
  DIR* d = ::opendir(dir.path().c_str());
  while (dirent* e = ::readdir(d)) files += e->d_name[0] != '.';
  ::closedir(d);
  EXPECT_EQ(files, 1);
}

TEST(AcmeStorage, AnUnwritableDirectoryIsAnErrorNamingThePath) {
  const Storage storage("/proc/ferry-acme-test");
  std::string error;
  EXPECT_FALSE(storage.prepare(&error));
  EXPECT_NE(error.find("/proc/ferry-acme-test"), std::string::npos) << error;
}

}  // namespace
}  // namespace ferry::proxy::acme
