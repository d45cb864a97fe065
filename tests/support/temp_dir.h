// Temporary directories for tests, and removing a directory tree.
//
// Both avoid opendir(). ThreadSanitizer does not see opendir() create a descriptor, and libuv
// closes sockets in a way it does not see either, so a closedir() on a number a worker thread
// used for a socket a moment earlier is reported as a data race on that descriptor. Opening
// the directory with open() and then fdopendir() tells it the number is a new descriptor.
#pragma once

#include <string>

namespace ferry::testing {

// Removes path and everything under it (symbolic links are removed, not followed). Errors are
// ignored: a test cleaning up after itself must not fail for it.
void remove_tree(const std::string& path);

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it when this goes.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "ferry-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }  // "" if it could not be created

 private:
  std::string path_;
};

}  // namespace ferry::testing
