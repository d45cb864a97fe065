#include "config/load.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
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

LoadResult load_text(std::string_view yaml, const std::string& file_name) {
  LoadResult result;
  result.config.source = file_name;
  Diagnostics diag(file_name);
  // yaml-cpp reports through exceptions; none may leave the loader (STYLE.md), so each becomes
  // one positioned error like any other.
  try {
    const std::vector<YAML::Node> documents = YAML::LoadAll(std::string(yaml));
    const YAML::Node root = documents.empty() ? YAML::Node(YAML::NodeType::Null) : documents.front();
    decode_config(root, result.config, diag);
    // A second document after "---" would otherwise be ignored without a word.
    for (std::size_t i = 1; i < documents.size(); ++i)
      if (!documents[i].IsNull())
        diag.error(documents[i].Mark(), "", "expected a single YAML document, found another after \"---\"");
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
  return result;
}

}  // namespace ferry::config
