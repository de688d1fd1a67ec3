import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, describe, expect, it, vi } from "vitest";

import { lineageLabel, stageLabel } from "@/lib/quantize";
import { QuantizeDialog, QuantizeForm } from "@/pages/models/Quantize";

// The API client keeps the fetch it finds when lib/api is first imported: the recorder is
// installed before any import and answers like the server (a 202 job, then its SSE events).
const sent = vi.hoisted(() => {
  const requests: { path: string; method: string; body: string }[] = [];
  const job = (status: string, stage: string, outputs: unknown[]) => ({
    id: "job1",
    model: "tiny-f16.gguf",
    source_format: "gguf",
    status,
    stage,
    current: status === "completed" ? 1 : 0,
    total: 1,
    bytes_written: status === "running" ? 4096 : null,
    outputs,
    warning: null,
    error: null,
    error_code: null,
    created_at: 1,
    updated_at: 1,
    finished_at: null,
  });
  const running = job("running", "quantizing", [{ model_id: "tiny-q8_0.gguf", type: "q8_0", status: "running", size_bytes: 4096 }]);
  const done = job("completed", "done", [
    { model_id: "tiny-q8_0.gguf", type: "q8_0", status: "done", size_bytes: 5336672, bits_per_weight: 9.174 },
  ]);
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
    // The SSE helper fetches a relative URL (the page's origin).
    const req = input instanceof Request ? input : new Request(new URL(String(input), "http://localhost"), init);
    const path = new URL(req.url).pathname;
    requests.push({ path, method: req.method, body: req.method === "POST" ? await req.clone().text() : "" });
    if (path === "/api/v1/models/tiny-f16.gguf/quantize")
      return new Response(JSON.stringify(job("queued", "queued", [])), { status: 202, headers: { "Content-Type": "application/json" } });
    if (path === "/api/v1/quantizations/job1/events") {
      const body = [running, done].map((j) => `event: progress\ndata: ${JSON.stringify(j)}\n\n`).join("");
      return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
    }
    return new Response(JSON.stringify({ data: [] }), { status: 200, headers: { "Content-Type": "application/json" } });
  });
  return requests;
});

afterAll(() => vi.unstubAllGlobals());

describe("Quantize form", () => {
  it("sends the checked types in the table's order, and nothing when none is checked", async () => {
    const submit = vi.fn();
    render(<QuantizeForm model="tiny-f16.gguf" pending={false} onSubmit={submit} />);
    const button = screen.getByRole("button", { name: /Quantize/ });
    // q4_k_m is checked to start with.
    expect(screen.getByRole("checkbox", { name: /q4_k_m/ })).toBeChecked();
    await userEvent.click(screen.getByRole("checkbox", { name: /q4_k_m/ }));
    expect(button).toBeDisabled();
    await userEvent.click(screen.getByRole("checkbox", { name: /q2_k/ }));
    await userEvent.click(screen.getByRole("checkbox", { name: /q8_0/ }));
    await userEvent.click(button);
    expect(submit).toHaveBeenCalledWith(["q8_0", "q2_k"]);
  });

  it("starts the job through the API and shows its progress until done", async () => {
    render(
      <QueryClientProvider client={new QueryClient()}>
        <QuantizeDialog model="tiny-f16.gguf" onClose={() => {}} />
      </QueryClientProvider>,
    );
    await userEvent.click(screen.getByRole("checkbox", { name: /q4_k_m/ }));
    await userEvent.click(screen.getByRole("checkbox", { name: /q8_0/ }));
    await userEvent.click(screen.getByRole("button", { name: /Quantize/ }));
    const progress = await screen.findByTestId("quantize-progress");
    await waitFor(() => expect(progress).toHaveAttribute("data-status", "completed"));
    expect(progress).toHaveTextContent("tiny-q8_0.gguf: done");
    expect(progress).toHaveTextContent("9.17 bits/weight");
    const post = sent.find((r) => r.path === "/api/v1/models/tiny-f16.gguf/quantize");
    expect(post?.method).toBe("POST");
    expect(JSON.parse(post!.body)).toEqual({ types: ["q8_0"] });
    expect(sent.some((r) => r.path === "/api/v1/quantizations/job1/events")).toBe(true);
  });
});

describe("labels", () => {
  it("reads lineage and stages in words", () => {
    expect(
      lineageLabel({ parent: "tiny-f16.gguf", type: "q4_k_m", size_bytes: 1, parameters: 1, bits_per_weight: 7.5224, job_id: "j" }),
    ).toBe("from tiny-f16.gguf · q4_k_m · 7.52 bits/weight");
    const base = {
      id: "j",
      model: "tiny",
      source_format: "hf" as const,
      current: 1,
      total: 2,
      outputs: [
        { model_id: "tiny-q8_0.gguf", type: "q8_0", status: "done" as const },
        { model_id: "tiny-q4_0.gguf", type: "q4_0", status: "running" as const },
      ],
      created_at: 0,
      updated_at: 0,
    };
    expect(stageLabel({ ...base, status: "running", stage: "quantizing" })).toBe("quantizing q4_0 (2 of 2)");
    expect(stageLabel({ ...base, status: "running", stage: "converting" })).toBe("converting to an f16 GGUF");
    expect(stageLabel({ ...base, status: "failed", stage: "quantizing" })).toBe("failed");
  });
});
