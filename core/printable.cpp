// Escaping and bounding outside text for logs and error messages.
#include "core/printable.hpp"

#include <algorithm>

namespace kaa {

std::string printable(std::string_view text, size_t max_bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(std::min(text.size(), max_bytes) + 16);
    size_t taken = 0;
    for (; taken < text.size() && out.size() < max_bytes; ++taken) {
        const auto c = static_cast<unsigned char>(text[taken]);
        switch (c) {
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\\':
                out += "\\\\";
                break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    out += "\\x";
                    out.push_back(kHex[c >> 4]);
                    out.push_back(kHex[c & 0xf]);
                } else {
                    out.push_back(static_cast<char>(c));
                }
        }
    }
    if (taken < text.size()) {
        // Do not end inside a UTF-8 sequence: drop continuation bytes and their lead.
        while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xc0) == 0x80)
            out.pop_back();
        if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xc0)
            out.pop_back();
        out += "... (" + std::to_string(text.size()) + " bytes)";
    }
    return out;
}

}  // namespace kaa
