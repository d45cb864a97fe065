// ACME's files under `acme.storage`: the account key and each certificate with its key.
// The directory is 0700 and every file 0600 (keys are secrets); a file is written to a
// temporary name in the same directory, synced, then renamed over the old one, so a crash
// leaves the old file or the new one, never half of either. ACME thread only (blocks on disk).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ferry::proxy::acme {

class Storage {
 public:
  explicit Storage(std::string directory) : directory_(std::move(directory)) {}

  // Creates the directory (and its parents) as 0700, or tightens an existing one to 0700.
  // False with *error ("/var/lib/ferry/acme: Permission denied").
  bool prepare(std::string* error) const;

  // The file's content; nullopt when it does not exist or cannot be read.
  std::optional<std::string> read(std::string_view name) const;
  // Atomically replaces the file with `content`, mode 0600. False with *error.
  bool write(std::string_view name, std::string_view content, std::string* error) const;

  std::string path(std::string_view name) const;

  static constexpr std::string_view kAccountKey = "account.key";
  // A certificate's file: its key then its chain, in one file so one rename swaps both.
  static std::string certificate_file(std::string_view first_domain);

 private:
  std::string directory_;
};

}  // namespace ferry::proxy::acme
