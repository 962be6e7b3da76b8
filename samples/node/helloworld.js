exports.myHandler = function(e,c,cb){cb(null,"x")}
