// The one shape every transport has: raw JSON-RPC frames in and out; framing only, no policy.

export interface MessagePipe {
  /**
   * Sends one serialised JSON-RPC message (no trailing newline). `parsed`, when the sender already parsed `raw`,
   * spares a receiver that needs the object a second parse.
   */
  send(raw: string, parsed?: unknown): void;
  close(): void;
  onmessage?: (raw: string) => void;
  /** A frame that could not be delivered as a message (too large); the pipe keeps working. */
  onframeerror?: (problem: string) => void;
  onclose?: (reason?: string) => void;
}
