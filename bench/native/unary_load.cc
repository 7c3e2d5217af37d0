// One-scan SubmitScans load generator for bench/bench_ingest.py (C++ gRPC, generic stub).
//
// Why native: on the 2-core bench machine the client shares the cores with the server, and
// a Python gRPC client spends ~0.2 ms of CPU per unary call, about as much as the server's
// whole transport work: the client, not the server, set the ceiling. This one spends a few
// microseconds, so the figure measures the server. It sends real, distinct requests: each
// call copies one of the templates Python serialized (a real SubmitScansRequest) and
// overwrites, at offsets Python found, its 16-byte scan id (counter + salt) and its 12-digit
// person reference (a random person from a pool), exactly as bench_ingest.UnaryMaker does.
//
//   unary_load TARGET TOKEN TEMPLATES SECONDS RATE INFLIGHT CONNECTIONS LATENCIES_OUT SEED
//
// RATE 0 is closed loop (INFLIGHT calls outstanding); RATE > 0 is open loop, each call's
// latency measured from the moment it was due (not when it was sent), so a late sender
// cannot hide queueing. Prints one JSON object; writes every answered call's latency in ms
// as float32 to LATENCIES_OUT.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
const char kMethod[] = "/checkin.v1.IngestService/SubmitScans";
const int kPersonDigits = 12;
const uint64_t kPersonBase = 100000000000ULL;  // 10**11, as the Python client
const uint64_t kPersons = 200000;

struct Template {
  std::string raw;
  size_t at_id;
  size_t at_person;
};

// TEMPLATES: repeated [u32 length][u32 at_id][u32 at_person][bytes], little-endian
std::vector<Template> LoadTemplates(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<Template> out;
  uint32_t head[3];
  while (in.read(reinterpret_cast<char*>(head), sizeof head)) {
    Template t{std::string(head[0], '\0'), head[1], head[2]};
    in.read(t.raw.data(), head[0]);
    out.push_back(std::move(t));
  }
  return out;
}

bool ReadVarint(const uint8_t*& p, const uint8_t* end, uint64_t* value) {
  *value = 0;
  for (int shift = 0; p < end && shift < 64; shift += 7) {
    uint8_t b = *p++;
    *value |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

// accepted (field 2) + duplicate (field 3) of a SubmitScansResponse, without generated code
uint64_t AckedScans(const std::string& msg) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(msg.data());
  const uint8_t* end = p + msg.size();
  uint64_t acked = 0, tag, value;
  while (p < end && ReadVarint(p, end, &tag)) {
    switch (tag & 7) {
      case 0:
        if (!ReadVarint(p, end, &value)) return acked;
        if ((tag >> 3) == 2 || (tag >> 3) == 3) acked += value;
        break;
      case 1: p += 8; break;
      case 5: p += 4; break;
      case 2:
        if (!ReadVarint(p, end, &value)) return acked;
        p += value;
        break;
      default: return acked;
    }
  }
  return acked;
}

struct Call {
  grpc::ClientContext context;
  grpc::ByteBuffer reply;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  Clock::time_point due;
};

class Load {
 public:
  Load(const std::string& target, const std::string& token, std::vector<Template> templates,
       int connections, uint64_t seed)
      : token_(token), templates_(std::move(templates)), rng_(seed) {
    for (int i = 0; i < connections; ++i) {
      grpc::ChannelArguments args;
      args.SetInt("qrtrace.bench.connection", i);  // distinct args: a connection each
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
      stubs_.push_back(std::make_unique<grpc::GenericStub>(channel));
    }
    salt_ = rng_();
  }

  void Launch(Clock::time_point due) {
    auto* call = new Call;
    call->due = due;
    call->context.AddMetadata("authorization", "Bearer " + token_);
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    std::string raw;
    uint64_t k;
    {
      std::lock_guard<std::mutex> lock(make_mu_);
      k = ++made_;
      const Template& t = templates_[k % templates_.size()];
      raw = t.raw;
      std::memcpy(raw.data() + t.at_id, &k, 8);
      std::memcpy(raw.data() + t.at_id + 8, &salt_, 8);
      std::string person = std::to_string(kPersonBase + rng_() % kPersons);
      std::memcpy(raw.data() + t.at_person, person.data(), kPersonDigits);
    }
    grpc::Slice slice(raw);
    grpc::ByteBuffer request(&slice, 1);
    auto& stub = stubs_[k % stubs_.size()];
    call->reader = stub->PrepareUnaryCall(&call->context, kMethod, request, &cq_);
    live_.fetch_add(1);
    call->reader->StartCall();
    call->reader->Finish(&call->reply, &call->status, call);
  }

  // Completion thread: account each answer; in closed loop launch the next call.
  void Drain(bool closed_loop, Clock::time_point end) {
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
      auto* call = static_cast<Call*>(tag);
      auto now = Clock::now();
      if (call->status.ok()) {
        std::vector<grpc::Slice> slices;
        call->reply.Dump(&slices);
        std::string msg;
        for (auto& s : slices) msg.append(reinterpret_cast<const char*>(s.begin()), s.size());
        acked_ += AckedScans(msg);
        ++answered_;
        latencies_.push_back(std::chrono::duration<float, std::milli>(now - call->due).count());
      } else {
        ++errors_[call->status.error_code()];
      }
      delete call;
      if (closed_loop && now < end) Launch(Clock::now());  // before this one leaves `live_`
      if (live_.fetch_sub(1) == 1 && sending_done_.load()) ShutdownOnce();
    }
  }

  void SendingDone() {
    sending_done_.store(true);
    if (live_.load() == 0) ShutdownOnce();
  }

  uint64_t made_ = 0;
  uint64_t answered_ = 0;
  uint64_t acked_ = 0;
  std::map<int, uint64_t> errors_;
  std::vector<float> latencies_;

 private:
  std::string token_;
  std::vector<Template> templates_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
  grpc::CompletionQueue cq_;
  std::mt19937_64 rng_;
  uint64_t salt_;
  std::mutex make_mu_;
  std::atomic<int64_t> live_{0};
  std::atomic<bool> sending_done_{false};
  std::atomic<bool> shut_{false};

  void ShutdownOnce() {
    if (!shut_.exchange(true)) cq_.Shutdown();
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 10) {
    std::fprintf(stderr,
                 "usage: %s TARGET TOKEN TEMPLATES SECONDS RATE INFLIGHT CONNECTIONS "
                 "LATENCIES_OUT SEED\n",
                 argv[0]);
    return 2;
  }
  const double seconds = std::stod(argv[4]);
  const double rate = std::stod(argv[5]);
  const int inflight = std::stoi(argv[6]);
  auto templates = LoadTemplates(argv[3]);
  if (templates.empty()) {
    std::fprintf(stderr, "no request templates in %s\n", argv[3]);
    return 2;
  }
  Load load(argv[1], argv[2], std::move(templates), std::stoi(argv[7]), std::stoull(argv[9]));
  const auto begin = Clock::now();
  const auto end = begin + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(seconds));
  const bool closed_loop = rate <= 0;
  std::thread drain([&] { load.Drain(closed_loop, end); });
  if (closed_loop) {
    for (int i = 0; i < inflight; ++i) load.Launch(Clock::now());
  } else {
    const auto step = std::chrono::duration<double>(1.0 / rate);
    for (uint64_t k = 0;; ++k) {
      auto due = begin + std::chrono::duration_cast<Clock::duration>(step * double(k));
      if (due >= end) break;
      std::this_thread::sleep_until(due);
      load.Launch(due);
    }
  }
  load.SendingDone();
  drain.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
  std::ofstream out(argv[8], std::ios::binary);
  out.write(reinterpret_cast<const char*>(load.latencies_.data()),
            std::streamsize(load.latencies_.size() * sizeof(float)));
  std::printf("{\"calls\": %llu, \"answered\": %llu, \"acked\": %llu, \"elapsed_s\": %.6f, \"errors\": {",
              (unsigned long long)load.made_, (unsigned long long)load.answered_,
              (unsigned long long)load.acked_, elapsed);
  const char* sep = "";
  for (auto& [code, n] : load.errors_) {
    std::printf("%s\"%d\": %llu", sep, code, (unsigned long long)n);
    sep = ", ";
  }
  std::printf("}}\n");
  return 0;
}
