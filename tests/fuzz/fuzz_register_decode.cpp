// Fuzz target: a Modbus TCP read reply, from its whole-ADU checks (tcp_adu.hpp) to the typed
// values of its registers (register_codec.hpp). The input chooses the request, how its reply
// is made (arbitrary bytes, a well-formed reply with one byte spoiled or not, an exception),
// then the value type, byte order, scale, offset and string length the words are decoded
// with; every type and byte order is also decoded at the start of the reply. Checked: a reply
// passes only when it is exactly what was asked, a well-formed one always passes, and decoding
// is the inverse of encoding wherever it can be (the simulator serves what the poller reads).
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "core/utf8.hpp"
#include "drivers/modbus/register_codec.hpp"
#include "drivers/modbus/tcp_adu.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using kaa::config::ByteOrder;
using kaa::config::RegisterConfig;
using kaa::config::ValueType;
using kaa::modbus::Value;

constexpr ValueType kTypes[] = {ValueType::kBool,   ValueType::kInt16,   ValueType::kUint16,
                                ValueType::kInt32,  ValueType::kUint32,  ValueType::kInt64,
                                ValueType::kUint64, ValueType::kFloat32, ValueType::kFloat64,
                                ValueType::kString};
constexpr ByteOrder kOrders[] = {ByteOrder::kABCD, ByteOrder::kCDAB, ByteOrder::kBADC,
                                 ByteOrder::kDCBA};
/// The longest string register the configuration allows (common_sections.cpp).
constexpr int kMaxStringRegisters = 123;

/// Stops the run with a reason when an invariant does not hold.
void check(bool ok, const char* what) {
    kaa::fuzz::check(ok, "fuzz_register_decode", what);
}

/// True for the function codes that read bits.
bool reads_bits(uint8_t function) {
    return function == 1 || function == 2;
}

/// How the reply's bytes are made.
enum class Shape { kRaw, kWellFormed, kException };

/// A reply to `request` as a correct peer sends it, its data bytes taken from the input.
std::vector<uint8_t> well_formed_reply(const kaa::modbus::TcpReadRequest& request,
                                       FuzzedDataProvider& in) {
    const size_t bytes =
        reads_bits(request.function) ? (request.count + 7u) / 8u : 2u * request.count;
    std::vector<uint8_t> data = in.ConsumeBytes<uint8_t>(bytes);
    data.resize(bytes, 0);
    const size_t length = 3 + bytes;  // unit id, function, byte count, data
    std::vector<uint8_t> adu = {static_cast<uint8_t>(request.transaction_id >> 8),
                                static_cast<uint8_t>(request.transaction_id & 0xFF),
                                0,
                                0,
                                static_cast<uint8_t>(length >> 8),
                                static_cast<uint8_t>(length & 0xFF),
                                request.unit,
                                request.function,
                                static_cast<uint8_t>(bytes)};
    adu.insert(adu.end(), data.begin(), data.end());
    return adu;
}

/// Checks the verdict on a reply against what the reply was.
void check_reply(const kaa::modbus::TcpReadRequest& request, std::span<const uint8_t> adu,
                 size_t trailing, bool intact, const kaa::modbus::TcpReply& reply) {
    if (!reply.values.ok()) {
        const auto kind = reply.values.error().kind;
        check(kind == kaa::ErrorKind::kBadResponse || kind == kaa::ErrorKind::kModbusException,
              "a refused reply of an unexpected error kind");
        check(!reply.values.error().message.empty(), "a refusal without a message");
        check(!intact, "a well-formed reply was refused");
        return;
    }
    check(trailing == 0 && !reply.framing_lost, "a reply passed with trailing bytes");
    const std::vector<uint16_t>& values = reply.values.value();
    check(values.size() == request.count, "a reply passed with the wrong number of values");
    check(adu.size() >= 9 && adu[7] == request.function && adu[6] == request.unit,
          "a reply for another function or unit passed");
    for (size_t i = 0; i < values.size(); ++i) {
        const uint16_t expected =
            reads_bits(request.function)
                ? static_cast<uint16_t>((adu[9 + i / 8] >> (i % 8)) & 1u)
                : static_cast<uint16_t>((adu[9 + 2 * i] << 8) | adu[10 + 2 * i]);
        check(values[i] == expected, "a value differs from the reply's bytes");
    }
}

/// Decodes `words` as `reg` describes, and checks the codec's promises on the result; with
/// `publish`, also scales the value and writes it into JSON as a sample does.
void decode_and_check(const RegisterConfig& reg, std::span<const uint16_t> words, bool publish) {
    const Value raw = kaa::modbus::decode_words(reg, words);
    const std::vector<uint16_t> encoded = kaa::modbus::encode_words(reg, raw);
    const size_t count = static_cast<size_t>(kaa::config::register_count(reg.type, reg.length));
    check(encoded.size() == count, "encode_words gave the wrong number of words");
    const std::vector<uint16_t> given(words.begin(), words.begin() + std::min(count, words.size()));
    switch (reg.type) {
        case ValueType::kString:
            // Always UTF-8 (it goes into JSON). Bytes that were not became U+FFFD, three
            // bytes each: only a string that still fits its registers can read back.
            check(kaa::is_utf8(std::get<std::string>(raw)), "a string that is not UTF-8");
            if (std::get<std::string>(raw).size() > 2 * count)
                break;
            [[fallthrough]];
        case ValueType::kBool:
            // Not one to one (any non-zero word is true; a string ends at its first NUL), but
            // what was decoded reads back the same after encoding.
            check(kaa::modbus::decode_words(reg, encoded) == raw, "decode(encode(v)) != v");
            break;
        case ValueType::kFloat32:
        case ValueType::kFloat64:
            if (std::isnan(std::get<double>(raw)))
                break;  // NaN payloads need not survive
            [[fallthrough]];
        default:
            if (given.size() == count)
                check(encoded == given, "encode(decode(words)) != words");
    }
    if (!publish)
        return;
    const Value scaled = kaa::modbus::apply_scale(raw, reg.scale, reg.offset);
    if (reg.scale == 1.0 && reg.offset == 0.0) {
        const auto* nan = std::get_if<double>(&raw);
        const bool same = nan != nullptr && std::isnan(*nan) ? std::isnan(std::get<double>(scaled))
                                                             : scaled == raw;
        check(same, "scale 1 and offset 0 changed the value");
    }
    nlohmann::ordered_json object = nlohmann::ordered_json::object();
    const bool stored = kaa::modbus::put_json(object, "v", scaled);
    const auto* d = std::get_if<double>(&scaled);
    check(stored == !(d != nullptr && !std::isfinite(*d)), "put_json refused a finite value");
    if (stored) {
        (void)kaa::modbus::value_from_json(object["v"]);
        (void)object.dump();
    }
}

/// A scale or offset: a usual one, or any finite number.
double consume_factor(FuzzedDataProvider& in, double usual) {
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
        case 0:
            return usual;
        case 1:
            return 0.1;
        case 2:
            return -0.001;
        default:
            return in.ConsumeFloatingPoint<double>();
    }
}

}  // namespace

/// libFuzzer's entry point: one input is a request, its reply and the decoding of its words.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    kaa::modbus::TcpReadRequest request;
    request.transaction_id = in.ConsumeIntegral<uint16_t>();
    request.unit = in.ConsumeIntegral<uint8_t>();
    request.function = in.ConsumeIntegralInRange<uint8_t>(1, 4);
    request.address = in.ConsumeIntegral<uint16_t>();
    request.count =
        in.ConsumeIntegralInRange<uint16_t>(1, kaa::modbus::max_read_count(request.function));
    const auto shape = static_cast<Shape>(in.ConsumeIntegralInRange<int>(0, 2));
    const size_t trailing = in.ConsumeBool() ? in.ConsumeIntegralInRange<size_t>(0, 3) : 0;

    std::vector<uint8_t> adu;
    bool intact = false;
    if (shape == Shape::kWellFormed) {
        adu = well_formed_reply(request, in);
        intact = trailing == 0;
        if (in.ConsumeBool()) {  // one byte spoiled
            const size_t at = in.ConsumeIntegralInRange<size_t>(0, adu.size() - 1);
            const uint8_t was = adu[at];
            adu[at] = in.ConsumeIntegral<uint8_t>();
            intact = intact && (adu[at] == was || at >= 9);
        }
    } else if (shape == Shape::kException) {
        adu = {static_cast<uint8_t>(request.transaction_id >> 8),
               static_cast<uint8_t>(request.transaction_id & 0xFF),
               0,
               0,
               0,
               3,
               request.unit,
               static_cast<uint8_t>(request.function | 0x80),
               in.ConsumeIntegral<uint8_t>()};
    } else {
        adu = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 300));
    }
    const kaa::modbus::TcpReply reply = kaa::modbus::check_read_reply(request, adu, trailing);
    check_reply(request, adu, trailing, intact, reply);
    if (shape == Shape::kException && trailing == 0) {
        check(!reply.values.ok() && !reply.framing_lost, "an exception reply was not refused");
    }

    // The words to decode: the reply's values when it passed, else words from the input.
    std::vector<uint16_t> words;
    if (reply.values.ok()) {
        words = reply.values.value();
    } else {
        const size_t n = in.ConsumeIntegralInRange<size_t>(0, 125);
        const std::vector<uint8_t> bytes = in.ConsumeBytes<uint8_t>(2 * n);
        for (size_t i = 0; i + 1 < bytes.size(); i += 2)
            words.push_back(static_cast<uint16_t>((bytes[i] << 8) | bytes[i + 1]));
    }
    if (reads_bits(request.function) && reply.values.ok()) {
        for (uint16_t bit : words)
            check(kaa::modbus::decode_bit(static_cast<uint8_t>(bit)) == Value(bit != 0),
                  "decode_bit");
        return 0;
    }
    RegisterConfig reg;
    reg.type = in.PickValueInArray(kTypes);
    reg.byte_order = in.PickValueInArray(kOrders);
    reg.length = in.ConsumeIntegralInRange<int>(1, kMaxStringRegisters);
    reg.scale = consume_factor(in, 1.0);
    reg.offset = consume_factor(in, 0.0);
    if (reg.scale == 0.0)
        reg.scale = 1.0;  // the configuration refuses scale 0
    const size_t count = static_cast<size_t>(kaa::config::register_count(reg.type, reg.length));
    const size_t at = words.empty() ? 0 : in.ConsumeIntegralInRange<size_t>(0, words.size() - 1);
    const std::span<const uint16_t> all(words);
    // The poller gives exactly the value's words, or fewer when a read was cut short.
    decode_and_check(reg, all.subspan(at, std::min(count, words.size() - at)), true);
    for (ValueType type : kTypes) {
        for (ByteOrder order : kOrders) {
            RegisterConfig each = reg;
            each.type = type;
            each.byte_order = order;
            const size_t n = static_cast<size_t>(kaa::config::register_count(type, each.length));
            decode_and_check(each, all.first(std::min(n, words.size())), false);
        }
    }
    return 0;
}
