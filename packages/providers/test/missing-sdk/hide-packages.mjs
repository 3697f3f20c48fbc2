// Registers resolve hooks for a probe process. Packages named in VEL_HIDE_PACKAGES (a JSON array)
// become unresolvable, as if they were not installed: Node's own resolver looks them up from the
// filesystem root, where no node_modules holds them, and throws its real ERR_MODULE_NOT_FOUND.
// Packages named in VEL_BREAK_PACKAGES resolve to a module that throws when it is evaluated.
import { register } from 'node:module'

register('./hide-packages-hooks.mjs', import.meta.url, {
  data: {
    hidden: JSON.parse(process.env.VEL_HIDE_PACKAGES ?? '[]'),
    broken: JSON.parse(process.env.VEL_BREAK_PACKAGES ?? '[]'),
  },
})
