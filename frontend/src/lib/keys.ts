import type { KeyboardEvent } from "react";

/**
 * Whether a key press in a chat box should send: Enter sends, Shift+Enter is a new line, and
 * an Enter that confirms an IME composition (Japanese, Chinese, ...) does neither.
 */
export function isSendKey(e: Pick<KeyboardEvent, "key" | "shiftKey" | "nativeEvent"> & { keyCode?: number }): boolean {
  if (e.key !== "Enter" || e.shiftKey) return false;
  // isComposing is the standard flag; keyCode 229 is what Safari reports for the confirming Enter.
  const native = e.nativeEvent as { isComposing?: boolean } | undefined;
  return !native?.isComposing && e.keyCode !== 229;
}
