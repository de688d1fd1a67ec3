import type { Schemas } from "@/lib/api";
import { toApiError } from "@/lib/errors";
import { eventJson, streamEvents } from "@/lib/stream";

export type GenerateBody = Schemas["GenerateRequest"];
export type GenerateResult = Schemas["GenerateResponse"];

/**
 * Streams POST /api/v1/models/generate: calls onText with the growing text after each token and
 * returns the final response (the `done` event). Throws the server's error (`error` event or
 * non-2xx status) as an ApiError; an abort throws an AbortError.
 */
export async function streamGenerate(
  body: Omit<GenerateBody, "stream">,
  onText: (text: string, tokens: number) => void,
  signal?: AbortSignal,
): Promise<GenerateResult> {
  let text = "";
  let tokens = 0;
  for await (const ev of streamEvents("/api/v1/models/generate", { body: { ...body, stream: true }, signal })) {
    if (ev.event === "token") {
      text += eventJson<{ text: string }>(ev).text;
      tokens += 1;
      onText(text, tokens);
    } else if (ev.event === "done") {
      return eventJson<GenerateResult>(ev);
    } else if (ev.event === "error") {
      throw toApiError(eventJson(ev));
    }
  }
  throw toApiError("The stream ended before the response was complete.");
}
