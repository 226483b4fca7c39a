// is_utf8() and to_utf8(): outside text made fit for JSON, which carries only UTF-8.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/utf8.hpp"

namespace kaa {
namespace {

TEST(Utf8, WellFormedTextIsUnchanged) {
    const std::vector<std::string> texts = {"",
                                            "plain ASCII",
                                            "Zähler 3 €",
                                            "\xF0\x9F\x94\xA5 U+1F525",
                                            std::string("NUL\0inside", 10),
                                            "\xF4\x8F\xBF\xBF"};
    for (const std::string& text : texts) {
        EXPECT_TRUE(is_utf8(text)) << text;
        EXPECT_EQ(to_utf8(text), text);
    }
}

TEST(Utf8, EachByteOutsideASequenceBecomesTheReplacementCharacter) {
    const std::string r = "\xEF\xBF\xBD";  // U+FFFD
    // A string register never written (0xFFFF words), Latin-1 text, a lone continuation byte.
    EXPECT_EQ(to_utf8("\xFF\xFF"), r + r);
    EXPECT_EQ(to_utf8("Z\xE4hler"), "Z" + r + "hler");
    EXPECT_EQ(to_utf8("a\x80z"), "a" + r + "z");
    // Cut short, at the end and before another character.
    EXPECT_EQ(to_utf8("\xE2\x82"), r + r);
    EXPECT_EQ(to_utf8("\xE2\x82x"), r + r + "x");
    for (const char* bad : {"\xFF\xFF", "Z\xE4hler", "\xE2\x82"})
        EXPECT_FALSE(is_utf8(bad));
}

TEST(Utf8, OverlongFormsSurrogatesAndCodePointsPastTheRangeAreRefused) {
    for (const std::string bad :
         {"\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xF0\x80\x80\xAF", "\xED\xA0\x80",
          "\xED\xBF\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80"}) {
        EXPECT_FALSE(is_utf8(bad)) << testing::PrintToString(bad);
        EXPECT_TRUE(is_utf8(to_utf8(bad)));
    }
    EXPECT_TRUE(is_utf8("\xED\x9F\xBF"));  // U+D7FF, just below the surrogates
}

}  // namespace
}  // namespace kaa
