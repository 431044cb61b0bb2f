// Golden-vector modules the project does not implement yet, each with the method (and issue) that
// will. A vector whose module has no adapter fails the harness unless its module is listed here;
// a module that gets an adapter must leave this list (the harness refuses a module on both).

export const PENDING_MODULES: Record<string, string> = {
  pamr: 'onestage, issue 13',
  ngwp_focal: 'onestage, issue 13',
  stage_net_train_forward: 'onestage, issue 13',
  pseudo_gt_from_pamr: 'onestage, issue 13',
  balanced_ce_loss: 'onestage, issue 13',
  sg_gci: 'onestage, issue 13',
};
