import { useState } from "react";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";

import { ParamsForm } from "@/components/ParamsForm";
import { FACTORY_PARAMS, type SamplingParams } from "@/lib/params";

function Harness({ onValue }: { onValue: (p: SamplingParams) => void }) {
  const [value, setValue] = useState<SamplingParams>({ ...FACTORY_PARAMS, temperature: 1.3, seed: 9 });
  return (
    <ParamsForm
      value={value}
      defaults={FACTORY_PARAMS}
      onChange={(p) => {
        setValue(p);
        onValue(p);
      }}
    />
  );
}

describe("ParamsForm", () => {
  it("labels every input and shows current values", () => {
    render(<Harness onValue={() => {}} />);
    expect(screen.getByLabelText("Temperature")).toHaveValue(1.3);
    expect(screen.getByLabelText("Max tokens")).toHaveValue(FACTORY_PARAMS.max_tokens);
    expect(screen.getByLabelText("Seed")).toHaveValue("9");
    expect(screen.getByLabelText("Stop sequences")).toHaveValue("");
  });

  it("commits valid numbers and flags invalid ones without committing", async () => {
    const values: SamplingParams[] = [];
    render(<Harness onValue={(p) => values.push(p)} />);
    const temp = screen.getByLabelText("Temperature");
    await userEvent.clear(temp);
    await userEvent.type(temp, "0.25");
    expect(values.at(-1)!.temperature).toBe(0.25);
    await userEvent.clear(temp);
    await userEvent.type(temp, "3");
    expect(screen.getByText("Temperature must be between 0 and 2")).toBeInTheDocument();
    expect(temp).toHaveAttribute("aria-invalid", "true");
    expect(values.at(-1)!.temperature).toBe(0.25);
  });

  it("parses stop sequences and the seed as they are typed", async () => {
    const values: SamplingParams[] = [];
    render(<Harness onValue={(p) => values.push(p)} />);
    const stop = screen.getByLabelText("Stop sequences");
    await userEvent.type(stop, "###, END");
    expect(values.at(-1)!.stop).toEqual(["###", "END"]);
    expect(stop).toHaveValue("###, END");
    const seed = screen.getByLabelText("Seed");
    await userEvent.clear(seed);
    expect(values.at(-1)!.seed).toBeNull();
    await userEvent.type(seed, "x");
    expect(screen.getByText("Seed must be a whole number")).toBeInTheDocument();
  });

  it("resets to the defaults", async () => {
    const values: SamplingParams[] = [];
    render(<Harness onValue={(p) => values.push(p)} />);
    await userEvent.type(screen.getByLabelText("Stop sequences"), "a,b,c,d,e");
    expect(screen.getByText("At most 4 stop sequences")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: /reset/i }));
    expect(values.at(-1)).toEqual(FACTORY_PARAMS);
    expect(screen.getByLabelText("Temperature")).toHaveValue(0.7);
    expect(screen.getByLabelText("Seed")).toHaveValue("");
    expect(screen.getByLabelText("Stop sequences")).toHaveValue("");
    expect(screen.queryByText("At most 4 stop sequences")).not.toBeInTheDocument();
  });
});
