import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, describe, expect, it, vi } from "vitest";

import { endSession, startSession } from "@/lib/session";
import { RagLabPage } from "@/pages/RagLab";

// What leaves the page: the API client keeps the fetch it finds when lib/api is first imported,
// so the recorder is installed before any import (vi.hoisted) and answers like the server.
const sent = vi.hoisted(() => {
  const requests: Request[] = [];
  const json = (status: number, data: unknown) =>
    new Response(JSON.stringify(data), { status, headers: { "Content-Type": "application/json" } });
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(input, init);
    requests.push(req.clone());
    const path = new URL(req.url).pathname;
    if (path === "/api/v1/rag/evaluations/questions/upload" && req.method === "POST")
      return json(200, { questions: [{ question: "What pressure does the pump need?", document: "pump.pdf", pages: [4] }] });
    if (path === "/api/v1/rag/collections") return json(200, [{ id: "c1", name: "manuals" }]);
    if (path === "/api/v1/models") return json(200, { local: [], loaded: [], default_model: null });
    return json(404, { error: { message: "not found", type: "not_found_error" } });
  });
  return requests;
});

afterAll(() => {
  endSession();
  vi.unstubAllGlobals();
});

describe("RAG lab question upload", () => {
  it("goes through the API client: the session token and the CSRF header go with the file", async () => {
    startSession("sess-lab-upload", Date.now() / 1000 + 600, "e2e", false);
    render(
      <QueryClientProvider client={new QueryClient()}>
        <RagLabPage />
      </QueryClientProvider>,
    );
    const file = new File(['{"question": "What pressure does the pump need?"}\n'], "questions.jsonl", { type: "application/jsonl" });
    await userEvent.upload(screen.getByLabelText("Upload JSONL / CSV"), file);

    // The server's answer reaches the page: the questions box holds the uploaded question.
    await waitFor(() =>
      expect(screen.getByLabelText(/One JSON object per line/)).toHaveValue(
        '{"question":"What pressure does the pump need?","document":"pump.pdf","pages":[4]}',
      ),
    );
    const upload = sent.find((r) => new URL(r.url).pathname === "/api/v1/rag/evaluations/questions/upload");
    expect(upload?.method).toBe("POST");
    expect(upload?.headers.get("Authorization")).toBe("Bearer sess-lab-upload");
    expect(upload?.headers.get("X-Requested-With")).toBe("playground");
    expect(upload?.headers.get("Content-Type")).toMatch(/^multipart\/form-data; boundary=/);
    expect(await upload?.text()).toContain('name="file"');
  });
});
