// GET /api/v1/events: the Server-Sent Events stream of `baton serve`. A stream
// subscribes to the hub (event_hub.h), replays what the client missed from the store
// (Last-Event-ID), then sends live events; `event: reset` when the asked-for id is
// gone; a keep-alive comment every 15 s; ends (the client reconnects) when it falls
// a whole queue behind or the server stops.
#include <chrono>

#include "serve/context.h"
#include "serve/sse.h"
#include "serve/views.h"

namespace baton::serve {

namespace {

struct StreamState {
  std::shared_ptr<Subscription> subscription;
  std::string run_id;
  int64_t last_sent = 0;  // replay sends events in (last_sent, replay_to]
  int64_t replay_to = 0;
  bool reset = false;
  bool started = false;
  std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
};

bool write(httplib::DataSink& sink, const std::string& text) {
  return sink.write(text.data(), text.size());
}

}  // namespace

void handle_events(Context& ctx, const RouteMatch&, const httplib::Request& req,
                   httplib::Response& res) {
  const std::string run_id = req.get_param_value("run");
  if (!run_id.empty() && !is_identifier(run_id)) {
    return send_problem(res, 400, "run is not a valid run id");
  }
  // Count the client first, so that two racing for the last slot cannot both win.
  if (ctx.sse_clients.fetch_add(1) >= ctx.options.max_sse_clients) {
    ctx.sse_clients.fetch_sub(1);
    ctx.stats.sse_client_refused();
    res.set_header("Retry-After", "5");
    return send_problem(res, 503,
                        "too many event streams (" + std::to_string(ctx.options.max_sse_clients) +
                            "); try again later");
  }
  ctx.stats.sse_client_opened();
  auto state = std::make_shared<StreamState>();
  state->run_id = run_id;
  state->subscription = ctx.hub.subscribe(run_id, ctx.options.sse_queue_events, &state->replay_to);
  std::string last = req.get_header_value("Last-Event-ID");
  if (last.empty()) last = req.get_param_value("last_event_id");
  auto asked = parse_last_event_id(last);
  if (asked && *asked > 0) {
    auto store = ctx.stores.acquire();
    auto exists = store ? (*store)->feed_event_exists(*asked) : Result<bool>(false);
    if (exists && *exists && *asked <= state->replay_to) {
      state->last_sent = *asked;
    } else {
      state->reset = true;  // gone (deleted runs, another database): start from now
      state->last_sent = state->replay_to;
    }
  } else {
    state->last_sent = state->replay_to;  // no id: from now on
  }
  res.status = 200;
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Accel-Buffering", "no");
  const auto keepalive = std::chrono::duration<double>(ctx.options.keepalive_s);
  res.set_chunked_content_provider(
      "text/event-stream",
      [&ctx, state, keepalive](size_t, httplib::DataSink& sink) {
        if (ctx.stopping) return false;
        if (!state->started) {
          state->started = true;
          std::string head = sse_retry(1000);
          if (state->reset) head += sse_message(0, "reset", "{}");
          if (!write(sink, head)) return false;
        }
        // Replay from the store, one page per call.
        if (state->last_sent < state->replay_to) {
          auto store = ctx.stores.acquire();
          if (!store) return false;
          auto page = (*store)->list_feed(state->last_sent, state->run_id, 500);
          if (!page) return false;
          std::string out;
          bool done = page->size() < 500;
          for (const store::FeedEvent& e : *page) {
            if (e.id > state->replay_to) {
              done = true;  // the rest comes from the subscription
              break;
            }
            out += feed_event_message(e);
            state->last_sent = e.id;
          }
          if (done) state->last_sent = state->replay_to;
          if (!out.empty() && !write(sink, out)) return false;
          state->last_write = std::chrono::steady_clock::now();
          return true;
        }
        std::vector<std::shared_ptr<const PublishedEvent>> events;
        if (!state->subscription->take(&events, std::chrono::milliseconds(1000))) return false;
        std::string out;
        for (const auto& e : events) {
          if (e->id <= state->last_sent) continue;
          out += e->message;
          state->last_sent = e->id;
        }
        const auto now = std::chrono::steady_clock::now();
        if (out.empty() && now - state->last_write >= keepalive) out = sse_comment("keep-alive");
        if (out.empty()) return true;
        state->last_write = now;
        return write(sink, out);
      },
      [&ctx, state](bool) {
        if (state->subscription->overflowed()) ctx.stats.sse_client_dropped();
        state->subscription->close();
        ctx.sse_clients.fetch_sub(1);
        ctx.stats.sse_client_closed();
      });
}

}  // namespace baton::serve
