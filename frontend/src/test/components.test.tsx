import { render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { describe, expect, it } from "vitest";

import { NoModels } from "@/components/EmptyState";
import { ErrorAlert } from "@/components/ErrorAlert";
import { Figures } from "@/components/Figures";
import { Markdown } from "@/components/Markdown";

describe("components", () => {
  it("the no-model empty state says what to do next", () => {
    render(
      <MemoryRouter>
        <NoModels />
      </MemoryRouter>,
    );
    expect(screen.getByText("No model yet")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Models" })).toHaveAttribute("href", "/models");
    expect(screen.getByText(/make-test-models --only tiny/)).toBeInTheDocument();
  });

  it("ErrorAlert shows the envelope's message as an alert", () => {
    render(<ErrorAlert error={{ error: { message: "max_tokens is over the context", type: "invalid_request_error" } }} title="Generation failed" />);
    expect(screen.getByRole("alert")).toHaveTextContent("Generation failed");
    expect(screen.getByRole("alert")).toHaveTextContent("max_tokens is over the context");
  });

  it("ErrorAlert renders nothing without an error", () => {
    const { container } = render(<ErrorAlert error={null} />);
    expect(container).toBeEmptyDOMElement();
  });

  it("Figures lists TTFT, speed, tokens and backend", () => {
    render(
      <Figures
        stats={{ ttft_ms: 42, tokens_per_second: 12.34, completion_tokens: 7, prompt_tokens: 3, total_ms: 600, backend: "llamacpp", finish_reason: "stop", model: "m" }}
      />,
    );
    expect(screen.getByText("42 ms")).toBeInTheDocument();
    expect(screen.getByText("12.3 tok/s")).toBeInTheDocument();
    expect(screen.getByText("llamacpp")).toBeInTheDocument();
  });

  it("Markdown highlights code and turns citations into buttons", async () => {
    let cited = 0;
    render(<Markdown text={"See [2].\n\n```python\ndef f():\n    return 1\n```"} onCite={(n) => (cited = n)} />);
    // The renderer is a lazy chunk: wait for it to replace the plain-text fallback.
    const button = await screen.findByRole("button", { name: "Open source 2" }, { timeout: 15_000 });
    button.click();
    expect(cited).toBe(2);
    expect(document.querySelector("code.hljs .hljs-keyword")).toHaveTextContent("def");
  });
});
