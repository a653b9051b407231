// The terminal client's screen (Ink). It owns nothing but the wiring: keys and server frames
// become actions for the view model (model.ts), the model's effects become requests to the
// client (client.ts), and each render paints the rows that view.ts computed.

import { Box, Text, useApp, useCursor, useStdin, useStdout } from "ink";
import { useEffect, useReducer, useRef } from "react";
import type { ChatClient, ConnectError, RequestFailed } from "./client.ts";
import { parseKeys } from "./keys.ts";
import { type Action, type ChatState, type Effect, reduce } from "./model.ts";
import { render as renderScreen, type Span } from "./view.ts";

export interface AppProps {
  client: ChatClient;
  /** The model, with the first welcome already applied. */
  state: ChatState;
  /** Effects of applying the first welcome (history of the first room …). */
  initial: Effect[];
  color: boolean;
  /** Remembers the room opened last (config file). */
  onRemember: (room: string) => void;
  /** The server refused the session while reconnecting. */
  onFatal: (err: ConnectError) => void;
}

export function App(props: AppProps) {
  const { stdout } = useStdout();
  const { internal_eventEmitter: input, setRawMode } = useStdin();
  const { exit } = useApp();
  const { setCursorPosition } = useCursor();
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const blank = useRef(false);
  const engine = useRef<{ dispatch: (a: Action) => void } | null>(null);

  if (!engine.current) {
    const state = props.state;
    let scheduled = false;
    // Many frames can arrive at once (a replay after reconnecting): render once for all of them.
    const schedule = () => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        rerender();
      });
    };
    const dispatch = (a: Action) => {
      run(reduce(state, a));
      schedule();
    };
    const failed = (err: unknown) => {
      const e = err as Partial<RequestFailed>;
      return { ok: false as const, code: e.code ?? "INTERNAL", message: e.message ?? String(err), now: Date.now() };
    };
    const run = (effects: Effect[]) => {
      for (const fx of effects) {
        switch (fx.kind) {
          case "request":
            props.client.request(fx.frame as never).then(
              (result) => dispatch({ type: "reply", tag: fx.tag, ok: true, result, now: Date.now() }),
              (err) => dispatch({ type: "reply", tag: fx.tag, ...failed(err) }),
            );
            break;
          case "send":
            props.client.send(fx.frame).then(
              (result) =>
                dispatch({ type: "sent", room: fx.room, clientId: fx.frame.clientId, ok: true, result, now: Date.now() }),
              (err) => dispatch({ type: "sent", room: fx.room, clientId: fx.frame.clientId, ...failed(err) }),
            );
            break;
          case "remember":
            props.onRemember(fx.room);
            break;
          case "redraw":
            // Paint an empty frame, then the real one: Ink rewrites every line.
            blank.current = true;
            rerender();
            setImmediate(() => {
              blank.current = false;
              rerender();
            });
            break;
          case "quit":
            exit();
            break;
        }
      }
    };
    engine.current = { dispatch };
    run(props.initial);
  }

  useEffect(() => {
    const { dispatch } = engine.current!;
    props.client.listen({
      welcome: (welcome) => dispatch({ type: "welcome", welcome, now: Date.now() }),
      frame: (frame) => dispatch({ type: "frame", frame, now: Date.now() }),
      status: (status) => dispatch({ type: "status", status, now: Date.now() }),
      fatal: (err) => {
        props.onFatal(err);
        exit();
      },
    });
    const tick = setInterval(() => dispatch({ type: "tick", now: Date.now() }), 1000);
    return () => clearInterval(tick);
  }, [props.client, props.onFatal, exit]);

  useEffect(() => {
    const { dispatch } = engine.current!;
    let pasting = false;
    const onInput = (chunk: string) => {
      const parsed = parseKeys(chunk, pasting);
      pasting = parsed.pasting;
      for (const key of parsed.actions) dispatch({ type: "key", key, now: Date.now() });
    };
    setRawMode(true);
    input.on("input", onInput);
    return () => {
      input.off("input", onInput);
      setRawMode(false);
    };
  }, [input, setRawMode]);

  useEffect(() => {
    const { dispatch } = engine.current!;
    const onResize = () => dispatch({ type: "resize", cols: stdout.columns || 80, rows: stdout.rows || 24 });
    stdout.on("resize", onResize);
    onResize();
    return () => {
      stdout.off("resize", onResize);
    };
  }, [stdout]);

  if (blank.current) {
    setCursorPosition(undefined);
    return <Text> </Text>;
  }
  const screen = renderScreen(props.state);
  setCursorPosition(screen.cursor);
  return (
    <Box flexDirection="column">
      {screen.rows.map((row, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows are positions on the screen
        <Text key={i} wrap="truncate-end">
          {row.map((sp, j) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: spans are positions in the row
            <Piece key={j} span={sp} color={props.color} />
          ))}
        </Text>
      ))}
    </Box>
  );
}

function Piece({ span, color }: { span: Span; color: boolean }) {
  return (
    <Text color={color ? span.color : undefined} bold={span.bold} dimColor={span.dim} inverse={span.inverse}>
      {span.text}
    </Text>
  );
}
