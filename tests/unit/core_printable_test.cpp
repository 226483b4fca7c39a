// printable(): outside text bounded and escaped before it reaches a log line.
#include <gtest/gtest.h>

#include "core/printable.hpp"

namespace kaa {
namespace {

TEST(Printable, PlainTextIsUnchanged) {
    EXPECT_EQ(printable("Bad request: 'ts' missing"), "Bad request: 'ts' missing");
    EXPECT_EQ(printable("Zähler 3 €"), "Zähler 3 €");
}

TEST(Printable, ControlCharactersCannotForgeALine) {
    EXPECT_EQ(printable("ok\n[error] gateway: forged"), "ok\\n[error] gateway: forged");
    EXPECT_EQ(printable(std::string("a\0b\x1b[31m\x7f\t\r\\", 12)),
              "a\\x00b\\x1b[31m\\x7f\\t\\r\\\\");
}

TEST(Printable, LongTextIsCutWithItsLength) {
    const std::string huge(10 * 1024 * 1024, 'x');
    const std::string out = printable(huge, 20);
    EXPECT_EQ(out, std::string(20, 'x') + "... (10485760 bytes)");
    EXPECT_EQ(printable("abcdef", 6), "abcdef");
}

TEST(Printable, ACutNeverSplitsAUtf8Character) {
    // "é" is two bytes: a cut after its first byte drops it whole.
    EXPECT_EQ(printable("abé", 3), "ab... (4 bytes)");
}

}  // namespace
}  // namespace kaa
