// An OpenAI-style /v1/chat/completions that answers at once with a fixed Korean reply:
// the "teacher" of bench/synth/run.sh, so what is measured is the client.
//   instant_server PORT THREADS
#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: instant_server PORT THREADS\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const size_t threads = static_cast<size_t>(std::atoi(argv[2]));
  httplib::Server srv;
  srv.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // As inference servers do: no cap on requests per keep-alive connection (httplib: 5).
  srv.set_keep_alive_max_count(1u << 30);
  srv.set_tcp_nodelay(true);  // as kormo serve: no delayed-ACK wait between headers and body
  const std::string reply =
      R"({"id":"x","object":"chat.completion","model":"instant","choices":[{"index":0,"message":)"
      R"({"role":"assistant","content":"광합성은 식물이 빛 에너지를 이용해 이산화탄소와 물로 포도당을 만드는 과정입니다."},)"
      R"("finish_reason":"stop"}],"usage":{"prompt_tokens":40,"completion_tokens":30}})";
  srv.Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(reply, "application/json");
  });
  std::fprintf(stderr, "instant_server on 127.0.0.1:%d with %zu threads\n", port, threads);
  return srv.listen("127.0.0.1", port) ? 0 : 1;
}
