#include "config/load.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <optional>
#include <sstream>
#include <system_error>
#include <vector>

#include "config/decode.h"
#include "config/diagnostics.h"

namespace ferry::config {

namespace {

// The whole file, or nullopt with `*problem` saying why not. POSIX calls rather than streams,
// so the message carries errno's own words ("Permission denied", "Is a directory").
std::optional<std::string> read_whole_file(const std::string& path, std::string* problem) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *problem = std::generic_category().message(errno);
    return std::nullopt;
  }
  std::string text;
  char chunk[16 * 1024];
  while (true) {
    const ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *problem = std::generic_category().message(errno);
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace

std::string LoadError::to_string() const {
  if (line == 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadResult load_file(const std::string& path) {
  std::string problem;
  const std::optional<std::string> text = read_whole_file(path, &problem);
  if (!text) {
    LoadResult result;
    result.config.source = path;
    result.errors.push_back(LoadError{path, 0, 0, "cannot read the file: " + problem});
    return result;
  }
  return load_text(*text, path);
}

namespace {

// Finds where the second document with content starts; yaml-cpp's parser calls back per event.
class DocumentScanner final : public YAML::EventHandler {
 public:
  // Set once a second document with content has ended: its first node, where the message points.
  const std::optional<YAML::Mark>& second() const { return second_; }

  void OnDocumentStart(const YAML::Mark&) override { first_node_.reset(); }
  void OnDocumentEnd() override {
    if (first_node_ && ++with_content_ == 2) second_ = first_node_;
  }
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { saw(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
    saw(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    saw(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    saw(mark);
  }
  void OnMapEnd() override {}

 private:
  void saw(const YAML::Mark& mark) {
    if (!first_node_) first_node_ = mark;
  }

  std::optional<YAML::Mark> first_node_;  // of the current document
  std::optional<YAML::Mark> second_;
  int with_content_ = 0;
};

// Where a second document with content begins, if any. At most kMaxDocuments are walked.
// (This parses the text a second time; yaml-cpp's node builder, which YAML::Load uses, is not
// public, so one pass cannot both build the first document and count the rest.)
std::optional<YAML::Mark> second_document(const std::string& text) {
  constexpr int kMaxDocuments = 64;
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentScanner scanner;
  for (int i = 0; i < kMaxDocuments && !scanner.second() && parser.HandleNextDocument(scanner); ++i) {
  }
  return scanner.second();
}

}  // namespace

LoadResult load_text(std::string_view yaml, const std::string& file_name) {
  LoadResult result;
  result.config.source = file_name;
  Diagnostics diag(file_name);
  // yaml-cpp reports through exceptions; none may leave the loader (STYLE.md), so each becomes
  // one positioned error like any other.
  try {
    // Not YAML::LoadAll: yaml-cpp 0.7 yields documents without end for input such as "," and
    // allocates until the process dies. The first document is loaded; the rest are only
    // counted, and a bounded number of them at that.
    const std::string text(yaml);
    const YAML::Node root = YAML::Load(text);
    decode_config(root, result.config, diag);
    // A second document after "---" would otherwise be ignored without a word.
    if (const std::optional<YAML::Mark> extra = second_document(text)) {
      diag.error(*extra, "", "expected a single YAML document, found another after \"---\"");
    }
  } catch (const YAML::ParserException& e) {
    // Nothing past a syntax error can be trusted, so it's reported alone.
    Diagnostics syntax(file_name);
    syntax.error(e.mark, "", "YAML syntax error: " + e.msg);
    result.errors = syntax.take();
    return result;
  } catch (const YAML::Exception& e) {
    diag.error(e.mark, "", "YAML error: " + e.msg);
  } catch (const std::exception& e) {
    diag.error(YAML::Mark::null_mark(), "", std::string("cannot load: ") + e.what());
  } catch (...) {
    diag.error(YAML::Mark::null_mark(), "", "cannot load: unknown error");
  }
  result.errors = diag.take();
  result.warnings = diag.take_warnings();
  return result;
}

}  // namespace ferry::config
