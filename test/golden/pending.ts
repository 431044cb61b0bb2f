// Golden-vector modules the project does not implement yet, each with the method (and issue) that
// will. A vector whose module has no adapter fails the harness unless its module is listed here;
// a module that gets an adapter must leave this list (the harness refuses a module on both).

export const PENDING_MODULES: Record<string, string> = {
};
