#pragma once
// What a fuzz target does when one of its invariants fails: it says which on stderr and
// aborts, so that libFuzzer keeps the input that did it.

#include <cstdio>
#include <cstdlib>

namespace kaa::fuzz {

/// Stops the run with "<target>: <what>" when `ok` is false.
inline void check(bool ok, const char* target, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "%s: %s\n", target, what);
        std::abort();
    }
}

}  // namespace kaa::fuzz
