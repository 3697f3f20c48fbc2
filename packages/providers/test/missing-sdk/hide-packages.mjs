// Registers resolve hooks that make the packages named in VEL_HIDE_PACKAGES (a JSON array)
// unresolvable, as if they were not installed: Node's own resolver looks them up from the
// filesystem root, where no node_modules holds them, and throws its real ERR_MODULE_NOT_FOUND.
import { register } from 'node:module'

register('./hide-packages-hooks.mjs', import.meta.url, {
  data: { hidden: JSON.parse(process.env.VEL_HIDE_PACKAGES ?? '[]') },
})
