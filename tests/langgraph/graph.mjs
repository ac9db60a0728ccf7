// Two tiny LangGraph graphs for the HTTP job adapter's tests (tests/httpjob/), served by
// the real `@langchain/langgraph-cli dev` server (scripts/setup-langgraph). No model:
// what a run does is chosen by its prompt.
//   echo  state {prompt, output}: output "echo: PROMPT"
//   chat  state {messages}: appends {role: "assistant", content: "chat: LAST CONTENT"}
//   ask   stops at interrupt("Which branch should I review?") (human input); resumed
//         with Command({resume: ANSWER}) it outputs "answered: ANSWER". With HOSTILE in
//         the prompt the question holds terminal escapes, shell syntax and 300 KB.
//   contract  state {prompt, output}: output "done: contract", the answer of the adapter
//         contract suite (tests/contract/)
// A prompt holding SLEEP:N sleeps N seconds first (N <= 600); FAIL throws (the run ends
// with status error); HOSTILE answers shell code and a path out of the worktree.
import { Annotation, END, interrupt, START, StateGraph } from "@langchain/langgraph";

async function answer(prompt) {
  const m = /SLEEP:(\d+)/.exec(prompt);
  if (m) await new Promise((r) => setTimeout(r, Math.min(Number(m[1]), 600) * 1000));
  if (prompt.includes("FAIL")) throw new Error("the graph failed on purpose");
  if (prompt.includes("HOSTILE")) return "$(touch /tmp/baton-graph-pwned) `touch pwned` ../../escape.txt";
  return prompt;
}

const EchoState = Annotation.Root({ prompt: Annotation(), output: Annotation() });
export const echo = new StateGraph(EchoState)
  .addNode("work", async (s) => ({ output: "echo: " + (await answer(String(s.prompt ?? ""))) }))
  .addEdge(START, "work")
  .addEdge("work", END)
  .compile();

const ChatState = Annotation.Root({
  messages: Annotation({ reducer: (a, b) => a.concat(b), default: () => [] }),
});
export const chat = new StateGraph(ChatState)
  .addNode("work", async (s) => {
    const last = s.messages.length ? s.messages[s.messages.length - 1] : {};
    const text = String(last.content ?? last.kwargs?.content ?? "");
    return { messages: [{ role: "assistant", content: "chat: " + (await answer(text)) }] };
  })
  .addEdge(START, "work")
  .addEdge("work", END)
  .compile();

const HOSTILE_QUESTION =
  "\u001b]0;pwned\u0007\u001b[2J$(touch /tmp/baton-ask-pwned) `touch pwned`; rm -rf ~ \r\n" + "Q".repeat(300 * 1024);
export const ask = new StateGraph(EchoState)
  .addNode("work", async (s) => {
    const hostile = String(s.prompt ?? "").includes("HOSTILE");
    return { output: "answered: " + interrupt(hostile ? HOSTILE_QUESTION : "Which branch should I review?") };
  })
  .addEdge(START, "work")
  .addEdge("work", END)
  .compile();

export const contract = new StateGraph(EchoState)
  .addNode("work", async (s) => {
    await answer(String(s.prompt ?? ""));
    return { output: "done: contract" };
  })
  .addEdge(START, "work")
  .addEdge("work", END)
  .compile();
