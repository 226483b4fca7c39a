// Reading of the link and register keys shared by the gateway and simulator configurations.
#include "config/common_sections.hpp"

#include <limits>

namespace kaa::config {

const std::vector<std::pair<std::string, RegisterFunction>> kFunctionNames = {
    {"holding", RegisterFunction::kHolding},
    {"input", RegisterFunction::kInput},
    {"coil", RegisterFunction::kCoil},
    {"discrete", RegisterFunction::kDiscrete}};

const std::vector<std::pair<std::string, ValueType>> kTypeNames = {
    {"bool", ValueType::kBool},       {"int16", ValueType::kInt16},
    {"uint16", ValueType::kUint16},   {"int32", ValueType::kInt32},
    {"uint32", ValueType::kUint32},   {"int64", ValueType::kInt64},
    {"uint64", ValueType::kUint64},   {"float32", ValueType::kFloat32},
    {"float64", ValueType::kFloat64}, {"string", ValueType::kString}};

namespace {

const std::vector<std::pair<std::string, ByteOrder>> kByteOrderNames = {{"ABCD", ByteOrder::kABCD},
                                                                        {"CDAB", ByteOrder::kCDAB},
                                                                        {"BADC", ByteOrder::kBADC},
                                                                        {"DCBA", ByteOrder::kDCBA}};

const std::vector<std::pair<std::string, Parity>> kParityNames = {
    {"none", Parity::kNone}, {"even", Parity::kEven}, {"odd", Parity::kOdd}};

constexpr int kMaxStringRegisters = 123;

/// Reads the rtu: mapping of parent.
RtuLink read_rtu(const MapReader& parent) {
    MapReader r(parent.diag(), parent.get("rtu"), parent.section() + " rtu",
                {"device", "baud", "parity", "data_bits", "stop_bits"}, parent.key_where("rtu"));
    RtuLink link;
    if (auto v = r.string("device", Need::kRequired)) {
        link.device = *v;
    }
    if (auto v = r.integer("baud", 1, std::numeric_limits<int>::max())) {
        link.baud = static_cast<int>(*v);
    }
    if (auto v = r.choice("parity", kParityNames)) {
        link.parity = *v;
    }
    if (auto v = r.integer("data_bits", 5, 8)) {
        link.data_bits = static_cast<int>(*v);
    }
    if (auto v = r.integer("stop_bits", 1, 2)) {
        link.stop_bits = static_cast<int>(*v);
    }
    return link;
}

/// Reads the tcp: mapping of parent.
TcpLink read_tcp(const MapReader& parent) {
    MapReader r(parent.diag(), parent.get("tcp"), parent.section() + " tcp", {"host", "port"},
                parent.key_where("tcp"));
    TcpLink link;
    if (auto v = r.string("host", Need::kRequired)) {
        link.host = *v;
    }
    if (auto v = r.integer("port", 1, 65535)) {
        link.port = static_cast<int>(*v);
    }
    return link;
}

}  // namespace

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

std::optional<Link> read_link(const MapReader& r) {
    bool rtu = r.has("rtu");
    bool tcp = r.has("tcp");
    if (rtu && tcp) {
        Location later = r.key_where("rtu").line > r.key_where("tcp").line ? r.key_where("rtu")
                                                                           : r.key_where("tcp");
        r.diag().error(later, r.section() + ": has both rtu and tcp; give exactly one of them");
        return std::nullopt;
    }
    if (!rtu && !tcp) {
        r.diag().error(r.where(), r.section() + ": needs exactly one of rtu or tcp");
        return std::nullopt;
    }
    if (rtu) {
        return Link{read_rtu(r)};
    }
    return Link{read_tcp(r)};
}

RegisterConfig read_register(const MapReader& r, Need name) {
    RegisterConfig reg;
    reg.where = r.where();
    if (auto v = r.string("name", name)) {
        reg.name = *v;
    }
    auto address = r.integer("address", 0, 65535, Need::kRequired);
    if (address) {
        reg.address = static_cast<uint16_t>(*address);
    }
    if (auto v = r.choice("function", kFunctionNames)) {
        reg.function = *v;
    }
    bool bits = is_bit_function(reg.function);
    if (bits) {
        reg.type = ValueType::kBool;
    }
    bool type_ok = true;
    if (r.has("type")) {
        auto v = r.choice("type", kTypeNames);
        type_ok = v.has_value();
        if (v && bits && *v != ValueType::kBool) {
            r.fail("type", std::string("must be bool for function ") + to_string(reg.function) +
                               ", got " + to_string(*v));
            type_ok = false;
        } else if (v) {
            reg.type = *v;
        }
    }
    if (auto v = r.choice("byte_order", kByteOrderNames)) {
        reg.byte_order = *v;
    }
    if (reg.type == ValueType::kString && type_ok) {
        auto v = r.integer("length", 1, kMaxStringRegisters, Need::kRequired);
        if (!v) {
            return reg;
        }
        reg.length = static_cast<int>(*v);
    } else if (r.has("length")) {
        r.fail("length", "is only allowed with type string");
    }
    if (address && type_ok) {
        int count = register_count(reg.type, reg.length);
        if (*address + count - 1 > 65535) {
            r.fail("address", std::to_string(*address) + " with type " + to_string(reg.type) +
                                  " (" + std::to_string(count) +
                                  " registers) ends past the last address 65535");
        }
    }
    return reg;
}

}  // namespace kaa::config
