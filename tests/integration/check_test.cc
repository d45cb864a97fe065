// `ferry --check -c FILE`, the real executable: exit 0 and "config OK" for a good file; exit 1
// and every error as FILE:LINE:COL: message for a bad one; exit 1 for a file that is not there.
// Scripts (a deploy step, `systemctl reload` via ExecReload) trust the exit status alone.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/temp_dir.h"

namespace ferry::testing {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

TEST(Check, ABadFileExits1AndNamesEveryErrorWithItsPosition) {
  const TempDir temp("ferry-check");
  ASSERT_FALSE(temp.path().empty());
  const std::string file = temp.path() + "/bad.yaml";
  write_file(file,
             "listen: \"127.0.0.1:18888\"\n"
             "workers: 1\n"
             "admin: \"\"\n"
             "balancer: round_robbin\n"
             "backends:\n"
             "  - address: \"127.0.0.1:8000\"\n"
             "    weight: 0\n"
             "timeouts:\n"
             "  conect: 3s\n"
             "retries: lots\n");
  const CommandResult r = run_command({FERRY_BINARY, "--check", "-c", file});
  ASSERT_TRUE(r.exit_code.has_value()) << "--check did not return";
  EXPECT_EQ(*r.exit_code, 1) << "stdout:\n" << r.out << "stderr:\n" << r.err;
  EXPECT_EQ(r.out.find("config OK"), std::string::npos) << r.out;
  const std::string all = r.out + r.err;
  // Each error at the line and column of the offending key or value, all of them at once.
  const std::vector<std::string> expected = {
      file + ":4:11: balancer: expected one of round_robin, weighted_round_robin, least_outstanding, "
             "power_of_two, consistent_hash, found \"round_robbin\"; did you mean \"round_robin\"?",
      file + ":7:13: backends[0].weight: expected an integer from 1 to 1000, found \"0\"",
      file + ":9:3: timeouts.conect: unknown key; did you mean \"connect\"?",
      file + ":10:10: retries: expected an integer from 0 to 10, found \"lots\"",
  };
  for (const std::string& e : expected) EXPECT_NE(all.find(e + "\n"), std::string::npos) << e << "\nin:\n" << all;
  // And nothing else but FILE:LINE:COL: lines.
  const std::regex shape("^" + std::regex_replace(file, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                         R"(:[0-9]+:[0-9]+: .+$)");
  const std::vector<std::string> lines = lines_of(all);
  EXPECT_EQ(lines.size(), expected.size()) << all;
  for (const std::string& line : lines) EXPECT_TRUE(std::regex_match(line, shape)) << line;
}

TEST(Check, AGoodFilePrintsConfigOkAndExits0) {
  const TempDir temp("ferry-check");
  ASSERT_FALSE(temp.path().empty());
  const std::string file = temp.path() + "/good.yaml";
  // Loopback addresses only; --check neither listens nor connects.
  write_file(file,
             "listen: \"127.0.0.1:18888\"\n"
             "workers: 1\n"
             "admin: \"\"\n"
             "balancer: consistent_hash\n"
             "hash_key: cookie:sid\n"
             "backends:\n"
             "  - address: \"127.0.0.1:8000\"\n"
             "    weight: 3\n"
             "  - \"127.0.0.2:8000\"\n"
             "timeouts:\n"
             "  connect: 1s\n"
             "retries: 2\n");
  const CommandResult r = run_command({FERRY_BINARY, "--check", "-c", file});
  ASSERT_TRUE(r.exit_code.has_value()) << "--check did not return";
  EXPECT_EQ(*r.exit_code, 0) << "stdout:\n" << r.out << "stderr:\n" << r.err;
  EXPECT_EQ(r.out, "config OK\n");
  EXPECT_EQ(r.err, "");
}

TEST(Check, ARouteThatCanNeverMatchIsAWarningAndTheFileStillPasses) {
  const TempDir temp("ferry-check");
  ASSERT_FALSE(temp.path().empty());
  const std::string file = temp.path() + "/shadowed.yaml";
  write_file(file,
             "listen: \"127.0.0.1:18888\"\n"
             "backends: [\"127.0.0.1:8000\"]\n"
             "routes:\n"
             "  - forward: default\n"
             "  - match: {path: /late}\n"
             "    respond: {status: 404}\n");
  const CommandResult r = run_command({FERRY_BINARY, "--check", "-c", file});
  ASSERT_TRUE(r.exit_code.has_value()) << "--check did not return";
  EXPECT_EQ(*r.exit_code, 0) << "stdout:\n" << r.out << "stderr:\n" << r.err;
  EXPECT_EQ(r.out, "config OK\n");
  EXPECT_EQ(r.err,
            "warning: " + file +
                ":5:5: routes[1]: can never match: routes[0] (\"route-1\", line 4) has no match conditions "
                "and takes every request first; move this route above it\n");
}

TEST(Check, AMissingFileExits1AndSaysWhichFile) {
  const TempDir temp("ferry-check");
  ASSERT_FALSE(temp.path().empty());
  const std::string file = temp.path() + "/absent.yaml";
  const CommandResult r = run_command({FERRY_BINARY, "--check", "-c", file});
  ASSERT_TRUE(r.exit_code.has_value()) << "--check did not return";
  EXPECT_EQ(*r.exit_code, 1) << "stdout:\n" << r.out << "stderr:\n" << r.err;
  EXPECT_EQ(r.out.find("config OK"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find(file), std::string::npos) << r.err;
}

TEST(Check, AnEmptyBackendListIsAnError) {
  // A file given must name its backends (the contract: `backends` is required with a file).
  const TempDir temp("ferry-check");
  ASSERT_FALSE(temp.path().empty());
  const std::string file = temp.path() + "/empty.yaml";
  write_file(file, "listen: \"127.0.0.1:18888\"\n");
  const CommandResult r = run_command({FERRY_BINARY, "--check", "-c", file});
  ASSERT_TRUE(r.exit_code.has_value()) << "--check did not return";
  EXPECT_EQ(*r.exit_code, 1) << "stdout:\n" << r.out << "stderr:\n" << r.err;
  EXPECT_NE(r.err.find(file + ":"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("backends"), std::string::npos) << r.err;
}

TEST(Check, AnEmptyFileNameExits2InsteadOfTakingTheBuiltInDefault) {
  // `ferry -c "$CONFIG"` with CONFIG unset must not run (or pass) the built-in default, whose
  // backends are 10.20.x addresses on another network. Only --check is run here, so nothing
  // starts even if the refusal breaks.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{FERRY_BINARY, "--check", "-c", ""},
        std::vector<std::string>{FERRY_BINARY, "--check", "--config", ""},
        std::vector<std::string>{FERRY_BINARY, "--check", "--config="}}) {
    const CommandResult r = run_command(args);
    ASSERT_TRUE(r.exit_code.has_value()) << args[2] << ": --check did not return";
    EXPECT_EQ(*r.exit_code, 2) << args[2] << "\nstdout:\n" << r.out << "stderr:\n" << r.err;
    EXPECT_EQ(r.out.find("config OK"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("needs a file name"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace ferry::testing
