#pragma once
// Loading the gateway configuration in a short-lived child process.
//
// Why: kaa-gatewayd runs for years on a Raspberry Pi, and its peak memory (VmHWM) is set
// by the few milliseconds in which the YAML parser holds the node tree of the configuration file:
// about 10 MB of heap for 100 meters x 20 registers, against under 1 MB for the typed
// configuration that remains. glibc keeps those pages, so the daemon would carry the
// parser's peak for its whole life. Parsing in a fork()ed child leaves all of that in the
// child; the daemon only receives the result (a LoadResult as compact CBOR over a pipe)
// and builds the typed configuration from it. A crash of the parser on a hostile or
// corrupt file also stays in the child and becomes a configuration error.
//
// At start it runs before any thread exists. A reload (SIGHUP) calls it from the running,
// multi-threaded daemon: POSIX allows only async-signal-safe calls in such a child, but
// glibc's fork() makes malloc and stdio usable there, and the loader takes no other lock
// another thread could hold (it does not log). The daemon runs a reload on a thread of its
// own, so its main loop goes on meanwhile; a parse that takes too long (a hostile file), or
// a cancel (the daemon stops), kills the child. The child dies with its parent too.

#include <atomic>
#include <chrono>
#include <string>

#include "config/config_loader.hpp"

namespace kaa::config {

/// When a parse in the child is given up: a flag another thread sets, and a time limit.
struct IsolationLimits {
    const std::atomic<bool>* cancel = nullptr;  // set: kill the child, return an error
    std::chrono::milliseconds time_limit = std::chrono::seconds(60);
};

/// Loads the configuration like load_gateway_config, but parses it in a child process.
/// The result is the same as load_gateway_config's, except that
/// - a child killed by a signal gives one error "configuration parser crashed (SIGSEGV: ...)"
///   and no configuration (the file is not parsed again in this process), and
/// - when no child can be used (fork or pipe fails, the child exits non-zero or sends no
///   valid result) the file is loaded in this process, with a warning saying so, and
/// - a cancel or the time limit kills the child and gives one error, no configuration.
/// Never throws (except std::bad_alloc).
LoadResult load_gateway_config_isolated(const std::string& path, const LoadOptions& options = {},
                                        const IsolationLimits& limits = {});

namespace detail {

/// The loader the child runs; tests substitute one that crashes or fails.
using Loader = LoadResult (*)(const std::string& path, const LoadOptions& options);

/// load_gateway_config_isolated with child_loader run in the child (the in-process
/// fallback always uses load_gateway_config).
LoadResult load_isolated_with(const std::string& path, const LoadOptions& options,
                              Loader child_loader, const IsolationLimits& limits = {});

}  // namespace detail

}  // namespace kaa::config
