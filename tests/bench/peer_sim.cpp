// peer_sim: the cheapest Modbus TCP server the benchmarks can poll, so that the simulator
// takes as little of the machine's CPU as possible from the program being measured
// (tests/bench/bench_peer_workload.py). `kaa-gateway simulate` moves its values and serves
// every listener from a thread of its own that wakes every 100 ms; this one is a single
// thread on one epoll set, one read and one write per request, values fixed.
//
// It listens on N ephemeral ports of 127.0.0.1 (the kernel picks them: no clash with the
// ports the integration tests claim) and prints one line per listener to stderr,
//
//     peer_sim: listening <index> 127.0.0.1:<port>
//
// then "peer_sim: ready". Every listener serves units 1..K with holding and input registers
// 0..R-1 (function codes 3 and 4 only; anything else gets an exception). A register's word
// is, unless --image sets it, (unit * 100 + address) for holding and that + 50 for input.
// --image FILE: lines "<unit> <h|i> <address> <word>" set words (bench_peer_workload.py writes
// the benchmark's meter map this way).
//
// --counters FILE: a file of 2 + N little-endian uint64 kept mapped (MAP_SHARED): [0] the
// requests answered in total, [1] those of them answered with an exception, [2 + i] the
// requests answered on connections of listener i.
// The benchmark reads it at the edges of its window: transactions counted on the server side,
// with no system call of the simulator per count.
//
// Usage: peer_sim --listeners N [--units K] [--registers R] [--image FILE] [--counters FILE]
// Runs until SIGTERM or SIGINT.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;

/// Stops the loop (epoll_wait returns EINTR: the handler is installed without SA_RESTART).
void on_signal(int) {
    g_stop = 1;
}

struct Args {
    int listeners = 1;
    int units = 1;
    int registers = 125;
    std::string image;
    std::string counters;
};

/// Prints why the arguments are wrong and the usage, and exits 2.
[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "peer_sim: %s\nusage: peer_sim --listeners N [--units K] [--registers R] "
                 "[--image FILE] [--counters FILE]\n",
                 why);
    std::exit(2);
}

/// Reads the command line.
Args parse_args(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string_view k = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc)
                usage("missing value");
            return argv[++i];
        };
        if (k == "--listeners")
            a.listeners = std::atoi(value());
        else if (k == "--units")
            a.units = std::atoi(value());
        else if (k == "--registers")
            a.registers = std::atoi(value());
        else if (k == "--image")
            a.image = value();
        else if (k == "--counters")
            a.counters = value();
        else
            usage("unknown argument");
    }
    if (a.listeners < 1 || a.listeners > 1000)
        usage("--listeners must be 1..1000");
    if (a.units < 1 || a.units > 247)
        usage("--units must be 1..247");
    if (a.registers < 1 || a.registers > 65536)
        usage("--registers must be 1..65536");
    return a;
}

/// The register words of every unit: holding and input, `registers` each.
struct Bank {
    int registers = 0;
    std::vector<uint16_t> holding;  // [(unit - 1) * registers + address]
    std::vector<uint16_t> input;

    /// Fills the default words for units 1..units.
    Bank(int units, int regs) : registers(regs) {
        holding.resize(static_cast<size_t>(units) * regs);
        input.resize(holding.size());
        for (int u = 1; u <= units; ++u) {
            for (int a = 0; a < regs; ++a) {
                holding[static_cast<size_t>(u - 1) * regs + a] = static_cast<uint16_t>(u * 100 + a);
                input[static_cast<size_t>(u - 1) * regs + a] =
                    static_cast<uint16_t>(u * 100 + a + 50);
            }
        }
    }
};

/// Applies an --image file to the bank; exits on a bad line.
void load_image(const std::string& path, Bank& bank, int units) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (f == nullptr) {
        std::fprintf(stderr, "peer_sim: cannot open %s: %s\n", path.c_str(), std::strerror(errno));
        std::exit(1);
    }
    int unit = 0, address = 0;
    unsigned word = 0;
    char table = 0;
    int line = 0;
    while (std::fscanf(f, "%d %c %d %u", &unit, &table, &address, &word) == 4) {
        ++line;
        if (unit < 1 || unit > units || address < 0 || address >= bank.registers || word > 0xffff ||
            (table != 'h' && table != 'i')) {
            std::fprintf(stderr, "peer_sim: %s entry %d is out of range\n", path.c_str(), line);
            std::exit(1);
        }
        auto& words = table == 'h' ? bank.holding : bank.input;
        words[static_cast<size_t>(unit - 1) * bank.registers + address] =
            static_cast<uint16_t>(word);
    }
    std::fclose(f);
}

/// One accepted connection, or (is_listener) one of the listening sockets.
struct Conn {
    int fd = -1;
    int listener = -1;  // index of the listener it came from
    bool is_listener = false;
    size_t have = 0;  // bytes of an incomplete request kept in `in`
    uint8_t in[512];
};

/// The answer to one request (MBAP header at `req`), appended to `out` with its MBAP header;
/// false when it is an exception.
bool answer(const Bank& bank, int units, const uint8_t* req, size_t pdu_len,
            std::vector<uint8_t>& out) {
    const uint8_t unit = req[6];
    const uint8_t fc = req[7];
    const size_t at = out.size();
    out.insert(out.end(), req, req + 7);  // transaction id, protocol id, length (fixed below), unit
    uint8_t exception = 0;
    if (fc != 3 && fc != 4) {
        exception = 1;  // illegal function
    } else if (unit < 1 || unit > units) {
        exception = 0x0B;  // gateway target failed to respond
    } else if (pdu_len != 5) {
        exception = 3;  // illegal data value
    } else {
        const int address = req[8] << 8 | req[9];
        const int count = req[10] << 8 | req[11];
        if (count < 1 || count > 125)
            exception = 3;
        else if (address + count > bank.registers)
            exception = 2;  // illegal data address
        else {
            const auto& words = fc == 3 ? bank.holding : bank.input;
            const uint16_t* w =
                words.data() + static_cast<size_t>(unit - 1) * bank.registers + address;
            out.push_back(fc);
            out.push_back(static_cast<uint8_t>(2 * count));
            for (int i = 0; i < count; ++i) {
                out.push_back(static_cast<uint8_t>(w[i] >> 8));
                out.push_back(static_cast<uint8_t>(w[i] & 0xff));
            }
        }
    }
    if (exception != 0) {
        out.push_back(static_cast<uint8_t>(fc | 0x80));
        out.push_back(exception);
    }
    const size_t length = out.size() - at - 6;  // unit id + PDU
    out[at + 4] = static_cast<uint8_t>(length >> 8);
    out[at + 5] = static_cast<uint8_t>(length & 0xff);
    return exception == 0;
}

/// Maps the counters file (2 + listeners uint64, zeroed); nullptr without --counters.
uint64_t* map_counters(const std::string& path, int listeners) {
    if (path.empty())
        return nullptr;
    const size_t bytes = sizeof(uint64_t) * (2 + static_cast<size_t>(listeners));
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
        std::fprintf(stderr, "peer_sim: cannot create %s: %s\n", path.c_str(),
                     std::strerror(errno));
        std::exit(1);
    }
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) {
        std::fprintf(stderr, "peer_sim: cannot map %s: %s\n", path.c_str(), std::strerror(errno));
        std::exit(1);
    }
    return static_cast<uint64_t*>(p);
}

/// Adds one to a counter the benchmark reads while this process runs.
void bump(uint64_t* counters, size_t i) {
    __atomic_store_n(&counters[i], counters[i] + 1, __ATOMIC_RELAXED);
}

/// Opens a listener on 127.0.0.1 and an ephemeral port; returns the fd and sets `port`.
int open_listener(int& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd, 64) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        std::fprintf(stderr, "peer_sim: cannot listen: %s\n", std::strerror(errno));
        std::exit(1);
    }
    port = ntohs(addr.sin_port);
    return fd;
}

/// Reads what a client sent and answers every complete request in one write; false when
/// the connection is to be closed (peer closed, error, invalid frame, full socket).
bool serve_client(Conn& c, const Bank& bank, int units, uint64_t* counters,
                  std::vector<uint8_t>& out) {
    const ssize_t n = ::read(c.fd, c.in + c.have, sizeof(c.in) - c.have);
    if (n == 0)
        return false;
    if (n < 0)
        return errno == EAGAIN || errno == EINTR;
    c.have += static_cast<size_t>(n);
    out.clear();
    size_t used = 0;
    while (c.have - used >= 8) {
        const uint8_t* f = c.in + used;
        const size_t length = size_t{f[4]} << 8 | f[5];  // unit id + PDU
        if (f[2] != 0 || f[3] != 0 || length < 2 || length > 254)
            return false;
        if (c.have - used < 6 + length)
            break;
        const bool registers = answer(bank, units, f, length - 1, out);
        if (counters != nullptr) {
            bump(counters, 0);
            if (!registers)
                bump(counters, 1);
            bump(counters, 2 + static_cast<size_t>(c.listener));
        }
        used += 6 + length;
    }
    std::memmove(c.in, c.in + used, c.have - used);
    c.have -= used;
    if (out.empty())
        return true;
    const ssize_t sent = ::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
    return sent == static_cast<ssize_t>(out.size());  // a client this far behind is dropped
}

}  // namespace

int main(int argc, char** argv) {
    const Args args = parse_args(argc, argv);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: epoll_wait returns on the signal
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    Bank bank(args.units, args.registers);
    if (!args.image.empty())
        load_image(args.image, bank, args.units);
    uint64_t* counters = map_counters(args.counters, args.listeners);

    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    std::vector<Conn*> listeners;
    for (int i = 0; i < args.listeners; ++i) {
        int port = 0;
        auto* l = new Conn;
        l->fd = open_listener(port);
        l->listener = i;
        l->is_listener = true;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = l;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, l->fd, &ev);
        listeners.push_back(l);
        std::fprintf(stderr, "peer_sim: listening %d 127.0.0.1:%d\n", i, port);
    }
    std::fprintf(stderr, "peer_sim: ready (%d listeners, units 1..%d, registers 0..%d)\n",
                 args.listeners, args.units, args.registers - 1);
    std::fflush(stderr);

    std::vector<uint8_t> out;
    out.reserve(4096);
    epoll_event events[64];
    size_t clients = 0;
    while (!g_stop) {
        const int n = ::epoll_wait(ep, events, 64, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            std::fprintf(stderr, "peer_sim: epoll_wait: %s\n", std::strerror(errno));
            return 1;
        }
        for (int e = 0; e < n; ++e) {
            auto* c = static_cast<Conn*>(events[e].data.ptr);
            if (c->is_listener) {
                for (;;) {
                    const int fd = ::accept4(c->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    const int one = 1;
                    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    auto* client = new Conn;
                    client->fd = fd;
                    client->listener = c->listener;
                    epoll_event ev{};
                    ev.events = EPOLLIN | EPOLLRDHUP;
                    ev.data.ptr = client;
                    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                    ++clients;
                }
                continue;
            }
            if (!serve_client(*c, bank, args.units, counters, out)) {
                ::epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, nullptr);
                ::close(c->fd);
                delete c;
                --clients;
            }
        }
    }
    std::fprintf(stderr, "peer_sim: stopping; %llu transactions answered, %zu clients open\n",
                 static_cast<unsigned long long>(counters != nullptr ? counters[0] : 0), clients);
    return 0;
}
