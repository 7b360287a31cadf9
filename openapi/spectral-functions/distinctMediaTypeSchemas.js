// A request body offered in several media types must give each its own named schema: generators
// build one type per media type, and two media types on one schema come out as `X | X` (or one of
// them is silently dropped). See clients/README.md, "Rules the contract keeps for generators".
module.exports = (content, _options, context) => {
  if (content === null || typeof content !== 'object') return [];
  const seen = new Map();
  const problems = [];
  for (const [mediaType, media] of Object.entries(content)) {
    const ref = media && media.schema && media.schema.$ref;
    if (ref === undefined) continue; // sdk-json-schemas-named reports unnamed ones
    if (seen.has(ref)) {
      problems.push({
        message: `${mediaType} and ${seen.get(ref)} share ${ref}: give each media type its own named schema.`,
        path: [...context.path, mediaType, 'schema'],
      });
    } else {
      seen.set(ref, mediaType);
    }
  }
  return problems;
};
