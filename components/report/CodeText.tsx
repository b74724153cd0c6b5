import { visible } from "./visible";

/**
 * Plain text in which `backticked` parts (setting names, commands) are shown as code. Only
 * splits a string: everything stays React text, so a quoted server reply cannot become markup.
 */
export function CodeText({ text }: { text: string }) {
  const parts = visible(text).split("`");
  // An unpaired backtick: show the text as it is.
  if (parts.length % 2 === 0) return <>{visible(text)}</>;
  return (
    <>
      {parts.map((part, i) =>
        i % 2 === 1 ? (
          <code key={i} className="code">
            {part}
          </code>
        ) : (
          part
        ),
      )}
    </>
  );
}
