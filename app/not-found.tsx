export default function NotFound() {
  return (
    <div className="card max-w-2xl space-y-3 p-6">
      <h1 className="text-2xl font-bold">Not found</h1>
      <p>
        There is no page or report at this address. Report links are long and exact: check that the whole link was copied. Old reports may have been
        deleted.
      </p>
      <p>
        <a href="/">Start a new check</a>
      </p>
    </div>
  );
}
