# Every dependency comes from a Debian package; scripts/install-deps.sh installs them all.
# A missing one fails here with the package to install, not later with a compiler error.

find_package(Threads REQUIRED)
find_package(PkgConfig)

macro(ferry_missing what package)
  message(FATAL_ERROR "ferry: ${what} not found. Install the Debian package '${package}' "
                      "(scripts/install-deps.sh installs every dependency).")
endmacro()

# A C library found by its header and its shared object, as the interface target `target`.
function(ferry_system_library target header library what package)
  find_path(${target}_INCLUDE_DIR ${header})
  find_library(${target}_LIBRARY NAMES ${library})
  if(NOT ${target}_INCLUDE_DIR OR NOT ${target}_LIBRARY)
    ferry_missing("${what}" "${package}")
  endif()
  add_library(${target} INTERFACE)
  target_include_directories(${target} INTERFACE ${${target}_INCLUDE_DIR})
  target_link_libraries(${target} INTERFACE ${${target}_LIBRARY})
endfunction()

ferry_system_library(uv_dep uv.h uv "libuv" "libuv1-dev")

# liburing: the write batch's sends go through io_uring where the kernel allows it
# (proxy/core/socket_ring.h); ferry falls back to send(2) at run time, not at build time.
ferry_system_library(uring_dep liburing.h uring "liburing" "liburing-dev")

# llhttp: Debian's node-llhttp ships C sources, not a library; build them here. Strict mode is
# on: it rejects "Host : x", "\r\n\rX" head endings and chunk data not followed by CRLF, which
# the default (loose) build of 8.1.0 lets through.
set(LLHTTP_SOURCE_DIR /usr/share/llhttp CACHE PATH "llhttp C sources (node-llhttp)")
set(LLHTTP_INCLUDE_DIR /usr/share/include/llhttp CACHE PATH "llhttp.h (node-llhttp)")
foreach(f api.c http.c llhttp.c)
  if(NOT EXISTS ${LLHTTP_SOURCE_DIR}/${f})
    ferry_missing("llhttp source ${LLHTTP_SOURCE_DIR}/${f}" "node-llhttp")
  endif()
endforeach()
if(NOT EXISTS ${LLHTTP_INCLUDE_DIR}/llhttp.h)
  ferry_missing("llhttp header ${LLHTTP_INCLUDE_DIR}/llhttp.h" "node-llhttp")
endif()
add_library(llhttp STATIC ${LLHTTP_SOURCE_DIR}/api.c ${LLHTTP_SOURCE_DIR}/http.c
                          ${LLHTTP_SOURCE_DIR}/llhttp.c)
target_include_directories(llhttp SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
target_compile_definitions(llhttp PUBLIC LLHTTP_STRICT_MODE=1)
set_target_properties(llhttp PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_compile_options(llhttp PRIVATE -w)

# xxHash: used header-only (XXH_INLINE_ALL in balancer/hash.h), so the hash inlines into the
# consistent-hash pick and the binary needs no libxxhash at run time.
find_path(XXHASH_INCLUDE_DIR xxhash.h)
if(NOT XXHASH_INCLUDE_DIR)
  ferry_missing("xxHash" "libxxhash-dev")
endif()
add_library(xxhash_dep INTERFACE)
target_include_directories(xxhash_dep INTERFACE ${XXHASH_INCLUDE_DIR})

find_package(OpenSSL 3 QUIET)
if(NOT OpenSSL_FOUND)
  ferry_missing("OpenSSL 3" "libssl-dev")
endif()

# nghttp2: the HTTP/2 framing layer (proxy/http2). Debian's 1.52 carries the rapid-reset and
# CONTINUATION fixes backported, though its version macro does not say so.
find_path(NGHTTP2_INCLUDE_DIR nghttp2/nghttp2.h)
find_library(NGHTTP2_LIBRARY NAMES nghttp2)
if(NOT NGHTTP2_INCLUDE_DIR OR NOT NGHTTP2_LIBRARY)
  ferry_missing("nghttp2" "libnghttp2-dev")
endif()
add_library(nghttp2_dep INTERFACE)
target_include_directories(nghttp2_dep INTERFACE ${NGHTTP2_INCLUDE_DIR})
target_link_libraries(nghttp2_dep INTERFACE ${NGHTTP2_LIBRARY})

find_package(yaml-cpp QUIET)
if(NOT yaml-cpp_FOUND)
  ferry_missing("yaml-cpp" "libyaml-cpp-dev")
endif()

find_package(prometheus-cpp QUIET CONFIG)
if(NOT prometheus-cpp_FOUND)
  ferry_missing("prometheus-cpp" "prometheus-cpp-dev")
endif()

# ACME (proxy/acme): libcurl for HTTPS to the CA, nlohmann-json for its documents.
find_package(CURL QUIET)
if(NOT CURL_FOUND)
  ferry_missing("libcurl" "libcurl4-openssl-dev")
endif()
find_package(nlohmann_json 3 QUIET)
if(NOT nlohmann_json_FOUND)
  ferry_missing("nlohmann-json" "nlohmann-json3-dev")
endif()

if(FERRY_TESTS)
  find_package(GTest QUIET)
  if(NOT GTest_FOUND)
    ferry_missing("GoogleTest" "libgtest-dev")
  endif()
endif()
if(FERRY_BENCH)
  find_package(benchmark QUIET)
  if(NOT benchmark_FOUND)
    ferry_missing("Google Benchmark" "libbenchmark-dev")
  endif()
endif()
