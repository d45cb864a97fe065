// Config loading: arbitrary bytes as a YAML file. Invariants:
//   - config::load_text never throws, crashes or trips a sanitizer, whatever the bytes, and
//     returns promptly (libFuzzer's -timeout: yaml-cpp's LoadAll never returned on ",");
//   - every error it reports has a message;
//   - a file that loads prints (--print-config) as YAML that loads again, to the same printout.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/load.h"
#include "config/print.h"
#include "model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace ferry;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  config::LoadResult r;
  try {
    r = config::load_text(text, "fuzz.yaml");
  } catch (...) {
    FUZZ_CHECK(false, "load_text threw on: " + fuzz::escape(text));
  }
  for (const config::LoadError& e : r.errors) {
    FUZZ_CHECK(!e.message.empty(), "an error without a message: " + e.to_string());
  }
  if (!r.ok()) return 0;
  const std::string printed = config::print(r.config);
  const config::LoadResult again = config::load_text(printed, "fuzz.yaml");
  std::string errors;
  for (const config::LoadError& e : again.errors) errors += e.to_string() + "\n";
  FUZZ_CHECK(again.ok(), "--print-config output does not load:\n" + printed + "\n" + errors +
                             "input: " + fuzz::escape(text));
  FUZZ_CHECK(config::print(again.config) == printed,
             "printing is not stable:\n" + printed + "\nthen\n" + config::print(again.config));
  return 0;
}
