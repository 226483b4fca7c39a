// A profile's fingerprint: registers whose answer tells one meter model from others.
#include "config/profile_fingerprint.hpp"

#include "config/common_sections.hpp"
#include "config/units.hpp"

namespace kaa::config {
namespace {

/// Most checks one fingerprint may have: each costs a request per unit a scan finds.
constexpr size_t kMaxFingerprintChecks = 8;
/// Most values one `one_of` may list.
constexpr size_t kMaxOneOf = 64;

/// One item of `one_of` as the register's type holds it: text for strings, true/false for
/// bits, a decimal or 0x number otherwise; null (reported) when it is none of those.
nlohmann::json one_of_item(const MapReader& r, const YAML::Node& item, ValueType type) {
    const auto bad = [&](const std::string& what) {
        r.fail("one_of", "holds " + describe(item) + ", not " + what);
        return nlohmann::json();
    };
    if (!item.IsScalar())
        return bad("a single value");
    const std::string& text = item.Scalar();
    if (type == ValueType::kString)
        return text;
    if (type == ValueType::kBool) {
        if (text == "true" || text == "false")
            return text == "true";
        return bad("true or false (type bool)");
    }
    if (const auto i = parse_integer(text))
        return *i;
    if (const auto u = parse_unsigned(text))
        return *u;
    if (const auto d = parse_number(text))
        return *d;
    return bad(std::string("a number (type ") + to_string(type) + ")");
}

/// Reads the test of one check: exactly one of one_of, min/max and readable.
void read_test(const MapReader& r, FingerprintCheck& check) {
    const bool one_of = r.has("one_of");
    const bool range = r.has("min") || r.has("max");
    const bool readable = r.has("readable");
    const int kinds = (one_of ? 1 : 0) + (range ? 1 : 0) + (readable ? 1 : 0);
    if (kinds != 1) {
        r.diag().error(r.where(),
                       r.section() + ": " + (kinds == 0 ? "needs" : "takes only") +
                           " one test: one_of: [values], min:/max: (a range) or readable: true");
        return;
    }
    if (readable) {
        check.test = FingerprintTest::kReadable;
        if (auto v = r.boolean("readable"); v && !*v)
            r.fail("readable", "must be true (leave the check out otherwise)");
        return;
    }
    if (range) {
        check.test = FingerprintTest::kRange;
        if (!is_numeric(check.reg.type)) {
            r.fail(r.has("min") ? "min" : "max",
                   std::string("needs a numeric type, not ") + to_string(check.reg.type));
            return;
        }
        check.min = r.number("min");
        check.max = r.number("max");
        if (check.min && check.max && *check.min > *check.max)
            r.fail("max", "must not be below min");
        return;
    }
    check.test = FingerprintTest::kOneOf;
    const auto items = r.list("one_of");
    if (!items)
        return;
    if (items->empty() || items->size() > kMaxOneOf) {
        r.fail("one_of", "must list 1 to " + std::to_string(kMaxOneOf) + " values");
        return;
    }
    for (const YAML::Node& item : *items) {
        nlohmann::json value = one_of_item(r, item, check.reg.type);
        if (!value.is_null())
            check.one_of.push_back(std::move(value));
    }
}

}  // namespace

void read_fingerprint(const MapReader& top, MeterProfile& out) {
    const auto items = top.list("fingerprint");
    if (!items)
        return;
    if (items->size() > kMaxFingerprintChecks) {
        top.fail("fingerprint", "has " + std::to_string(items->size()) + " checks; at most " +
                                    std::to_string(kMaxFingerprintChecks) +
                                    " (each is a request to every unit a scan finds)");
        return;
    }
    for (size_t i = 0; i < items->size(); ++i) {
        MapReader r(top.diag(), (*items)[i], "fingerprint[" + std::to_string(i) + "]",
                    concat(kRegisterKeys, {"one_of", "min", "max", "readable"}),
                    top.value_where("fingerprint"));
        if (!r.is_map())
            continue;
        FingerprintCheck check;
        check.reg = read_register(r, Need::kOptional);
        r.require("function");
        read_test(r, check);
        out.fingerprint.push_back(std::move(check));
    }
}

}  // namespace kaa::config
