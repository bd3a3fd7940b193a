// Validates OpenAPI documents with an independent validator,
// @apidevtools/swagger-parser from the npm registry (.ci/run installs it
// next to a copy of this file). Exits non-zero on the first invalid one.
import SwaggerParser from "@apidevtools/swagger-parser";

for (const f of process.argv.slice(2)) {
  const api = await SwaggerParser.validate(f);
  console.log(`${f}: valid OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths`);
}
