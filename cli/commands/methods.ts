// `wsss methods`: the registered methods with their papers, supported backbones, options and
// training defaults (graphs/methods/registry.ts), as a table or as JSON.
import type { CommandModule } from 'yargs';

export const methodsCommand: CommandModule<object, { json: boolean }> = {
  command: 'methods',
  describe: 'List the methods, the backbones they run on, and their options',
  builder: (y) => y.option('json', { type: 'boolean', default: false, describe: 'print one JSON object instead of text' }),
  handler: async (a) => {
    const { allMethods } = await import('../../graphs/methods/registry.ts');
    const { FEATURE_BACKBONES } = await import('../../graphs/backbones/index.ts');
    const list = allMethods().map((m) => ({
      name: m.name,
      title: m.title,
      paper: m.paper,
      description: m.description,
      backbones: m.backbones,
      options: m.options,
      variants: m.variants ?? {},
      label_variants: m.labelVariants ?? {},
      training_defaults: Object.fromEntries(m.backbones.map((b) => [b, m.trainingDefaults(b)])),
    }));
    if (a.json) {
      console.log(JSON.stringify({ methods: list, backbones: FEATURE_BACKBONES }));
      return;
    }
    for (const m of list) {
      console.log(`${m.name} — ${m.title}\n  ${m.paper}\n  ${m.description}\n  backbones: ${m.backbones.join(', ')}`);
      for (const [name, o] of Object.entries(m.options)) console.log(`  --${name} (${o.type}, default ${o.default}): ${o.describe}`);
      for (const [name, v] of Object.entries(m.variants)) console.log(`  variant ${name}: ${JSON.stringify(v)}`);
      for (const [name, v] of Object.entries(m.label_variants))
        console.log(`  label variant ${name}: the ${v.variant ? `'${v.variant}' variant's` : "method's"} model, pseudo-labelled with ${v.pseudoLabelFlags.join(' ')}`);
      console.log('');
    }
    console.log('backbones:');
    for (const [name, d] of Object.entries(FEATURE_BACKBONES)) console.log(`  ${name.padEnd(13)} ${d}`);
  },
};
